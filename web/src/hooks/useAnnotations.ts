'use client';

/**
 * The shown partition's span annotations (GET /api/span-annotations) and every change to
 * them: create (a drawn span or a reviewed prediction), update, delete, and "not a pattern"
 * for a prediction. The chosen partition is kept in the address, so a reload shows the same
 * chart. Database errors go to `dbError` (the banner), or to the dialog while it is open.
 */
import { useCallback, useEffect, useState, type Dispatch } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import { NEGATIVE_LABEL } from '@/lib/constants';
import type { DialogValues } from '@/components/AnnotationDialog';
import type { SpanAnnotation } from '@/types';
import type { PredictionSpan } from '@/types/predictions';
import type { DialogAction, DialogState } from './useAnnotationDialog';
import type { Selection } from './usePartitions';

export interface Annotations {
  annotations: SpanAnnotation[];
  loading: boolean;
  dbError: string | null;
  /** The selected annotation (dialog state's selectedId), if it is still there. */
  selected: SpanAnnotation | null;
  /** Create the pending span, or update the selected one, from the dialog's values. */
  save: (values: DialogValues) => Promise<void>;
  /** "Not a pattern": a negative annotation over the prediction, with what the model said. */
  dismissPrediction: (p: PredictionSpan, inDialog: boolean) => Promise<void>;
  remove: (a: SpanAnnotation) => Promise<void>;
}

const byStart = (a: SpanAnnotation, b: SpanAnnotation) => a.start_time - b.start_time || a.created_at.localeCompare(b.created_at);

/** What the model said, as an annotation's model_prediction. */
function modelPredictionOf(p: PredictionSpan) {
  return { label: p.label, confidence: Math.min(1, Math.max(0, p.confidence)), model_version: p.model_version };
}

export function useAnnotations(
  selection: Selection | null,
  initialDbError: string | null,
  dialog: DialogState,
  dispatch: Dispatch<DialogAction>,
): Annotations {
  const [annotations, setAnnotations] = useState<SpanAnnotation[]>([]);
  const [loading, setLoading] = useState(selection !== null);
  const [dbError, setDbError] = useState<string | null>(initialDbError);

  // Another partition: its annotations replace the shown ones, and nothing stays selected.
  const [shown, setShown] = useState(selection);
  if (shown !== selection) {
    setShown(selection);
    setAnnotations([]);
    setLoading(selection !== null);
    dispatch({ type: 'partitionChanged' });
  }

  useEffect(() => {
    if (!selection) return;
    let cancelled = false;
    const q = new URLSearchParams(selection);
    apiFetch<SpanAnnotation[]>(`/api/span-annotations?${q}`)
      .then((list) => {
        if (cancelled) return;
        setAnnotations(list);
        setDbError(null);
      })
      .catch((err: ApiRequestError) => !cancelled && setDbError(err.message))
      .finally(() => !cancelled && setLoading(false));
    // Keep the choice in the address, so a reload shows the same chart.
    const url = new URL(window.location.href);
    url.searchParams.set('pair', selection.pair);
    url.searchParams.set('timeframe', selection.timeframe);
    window.history.replaceState(null, '', url);
    return () => {
      cancelled = true;
    };
  }, [selection]);

  const selected = annotations.find((a) => a.id === dialog.selectedId) ?? null;
  const { pending } = dialog;

  const save = useCallback(
    async (values: DialogValues) => {
      if (!selection) return;
      dispatch({ type: 'saveStarted' });
      try {
        if (pending) {
          // A reviewed prediction keeps what the model said; O is always a human correction.
          const fromModel = pending.prediction
            ? {
                source: values.label === NEGATIVE_LABEL ? 'human_correction' : 'human',
                model_prediction: modelPredictionOf(pending.prediction),
              }
            : {};
          const created = await apiFetch<SpanAnnotation>('/api/span-annotations', {
            method: 'POST',
            body: JSON.stringify({ ...selection, start_time: pending.start_time, end_time: pending.end_time, ...values, ...fromModel }),
          });
          setAnnotations((list) => [...list, created].sort(byStart));
          dispatch({ type: 'saved', createdId: created.id });
        } else if (selected) {
          const updated = await apiFetch<SpanAnnotation>(`/api/span-annotations/${selected.id}`, {
            method: 'PATCH',
            body: JSON.stringify(values),
          });
          setAnnotations((list) => list.map((a) => (a.id === updated.id ? updated : a)));
          dispatch({ type: 'saved' });
        } else {
          dispatch({ type: 'saved' });
        }
      } catch (err) {
        dispatch({ type: 'saveFailed', message: (err as Error).message });
      }
    },
    [selection, pending, selected, dispatch],
  );

  const dismissPrediction = useCallback(
    async (p: PredictionSpan, inDialog: boolean) => {
      dispatch({ type: 'dismissStarted' });
      try {
        const created = await apiFetch<SpanAnnotation>('/api/span-annotations', {
          method: 'POST',
          body: JSON.stringify({
            pair: p.pair,
            timeframe: p.timeframe,
            label: NEGATIVE_LABEL,
            start_time: p.start_time,
            end_time: p.end_time,
            confidence: 1,
            source: 'human_correction',
            model_prediction: modelPredictionOf(p),
          }),
        });
        setAnnotations((list) => [...list, created].sort(byStart));
        dispatch({ type: 'dismissed' });
      } catch (err) {
        // In the dialog, the dialog says why; from the list, the banner does.
        if (inDialog) dispatch({ type: 'saveFailed', message: (err as Error).message });
        else {
          setDbError((err as Error).message);
          dispatch({ type: 'saveFailed' });
        }
      }
    },
    [dispatch],
  );

  const remove = useCallback(
    async (a: SpanAnnotation) => {
      try {
        await apiFetch<void>(`/api/span-annotations/${a.id}`, { method: 'DELETE' });
        setAnnotations((list) => list.filter((x) => x.id !== a.id));
        dispatch({ type: 'removed', id: a.id });
      } catch (err) {
        if ((err as ApiRequestError).status === 404) setAnnotations((list) => list.filter((x) => x.id !== a.id));
        else setDbError((err as Error).message);
      }
    },
    [dispatch],
  );

  return { annotations, loading, dbError, selected, save, dismissPrediction, remove };
}
