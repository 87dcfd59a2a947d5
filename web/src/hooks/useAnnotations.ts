'use client';

/**
 * The shown partition's span annotations (GET /api/span-annotations) and every change to
 * them: create (a drawn span or a reviewed prediction), update, delete, and "not a pattern"
 * for a prediction. The chosen partition is kept in the address, so a reload shows the same
 * chart. Database errors go to `dbError` (the banner), or to the dialog while it is open.
 * Every change is recorded for undo and redo (`history`, hooks/useUndo.ts), which go through
 * the API as well (`apply`).
 */
import { useCallback, useEffect, useState, type Dispatch } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import { NEGATIVE_LABEL } from '@/lib/constants';
import type { DialogValues } from '@/components/AnnotationDialog';
import type { UndoCall, UndoKind } from '@/lib/undo';
import type { SpanAnnotation } from '@/types';
import type { PredictionSpan } from '@/types/predictions';
import type { DialogAction, DialogState } from './useAnnotationDialog';
import type { Selection } from './usePartitions';
import { useUndo, type UndoController } from './useUndo';

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
  /** Accept a prediction as it is (the `a` key): a human span with its label and what the model said. */
  acceptPrediction: (p: PredictionSpan) => Promise<void>;
  remove: (a: SpanAnnotation) => Promise<void>;
  /** Move or resize a span (its drag handles): PATCH its times, recorded for undo. */
  moveSpan: (a: SpanAnnotation, start_time: number, end_time: number) => Promise<void>;
  /** Undo and redo of the changes above, and their toast. */
  history: UndoController;
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

  // One call of an undo or redo; the shown list follows it.
  const apply = useCallback(
    async (call: UndoCall): Promise<SpanAnnotation | null> => {
      if (call.method === 'DELETE') {
        try {
          await apiFetch<void>(call.url, { method: 'DELETE' });
        } catch (err) {
          if ((err as ApiRequestError).status !== 404) throw err;
        }
        setAnnotations((list) => list.filter((x) => x.id !== call.id));
        dispatch({ type: 'removed', id: call.id });
        return null;
      }
      const span = await apiFetch<SpanAnnotation>(call.url, { method: call.method, body: JSON.stringify(call.body) });
      setAnnotations((list) => [...list.filter((x) => x.id !== span.id), span].sort(byStart));
      return call.method === 'POST' ? span : null;
    },
    [dispatch],
  );
  const history = useUndo(apply, selection ? `${selection.pair}|${selection.timeframe}` : '');
  const { recordChange } = history;

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
          const kind: UndoKind = !pending.prediction ? 'create' : values.label === NEGATIVE_LABEL ? 'dismiss' : 'accept';
          recordChange({ kind, before: null, after: created });
        } else if (selected) {
          const updated = await apiFetch<SpanAnnotation>(`/api/span-annotations/${selected.id}`, {
            method: 'PATCH',
            body: JSON.stringify(values),
          });
          setAnnotations((list) => list.map((a) => (a.id === updated.id ? updated : a)));
          dispatch({ type: 'saved' });
          recordChange({ kind: 'edit', before: selected, after: updated });
        } else {
          dispatch({ type: 'saved' });
        }
      } catch (err) {
        dispatch({ type: 'saveFailed', message: (err as Error).message });
      }
    },
    [selection, pending, selected, dispatch, recordChange],
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
        recordChange({ kind: 'dismiss', before: null, after: created });
      } catch (err) {
        // In the dialog, the dialog says why; from the list, the banner does.
        if (inDialog) dispatch({ type: 'saveFailed', message: (err as Error).message });
        else {
          setDbError((err as Error).message);
          dispatch({ type: 'saveFailed' });
        }
      }
    },
    [dispatch, recordChange],
  );

  const acceptPrediction = useCallback(
    async (p: PredictionSpan) => {
      try {
        const created = await apiFetch<SpanAnnotation>('/api/span-annotations', {
          method: 'POST',
          body: JSON.stringify({
            pair: p.pair,
            timeframe: p.timeframe,
            label: p.label,
            start_time: p.start_time,
            end_time: p.end_time,
            confidence: 1,
            source: 'human',
            model_prediction: modelPredictionOf(p),
          }),
        });
        setAnnotations((list) => [...list, created].sort(byStart));
        recordChange({ kind: 'accept', before: null, after: created });
      } catch (err) {
        setDbError((err as Error).message);
      }
    },
    [recordChange],
  );

  const moveSpan = useCallback(
    async (a: SpanAnnotation, start_time: number, end_time: number) => {
      try {
        const updated = await apiFetch<SpanAnnotation>(`/api/span-annotations/${a.id}`, {
          method: 'PATCH',
          body: JSON.stringify({ start_time, end_time }),
        });
        setAnnotations((list) => list.map((x) => (x.id === updated.id ? updated : x)).sort(byStart));
        recordChange({ kind: 'edit', before: a, after: updated });
      } catch (err) {
        setDbError((err as Error).message);
      }
    },
    [recordChange],
  );

  const remove = useCallback(
    async (a: SpanAnnotation) => {
      try {
        await apiFetch<void>(`/api/span-annotations/${a.id}`, { method: 'DELETE' });
        setAnnotations((list) => list.filter((x) => x.id !== a.id));
        dispatch({ type: 'removed', id: a.id });
        recordChange({ kind: 'delete', before: a, after: null });
      } catch (err) {
        if ((err as ApiRequestError).status === 404) setAnnotations((list) => list.filter((x) => x.id !== a.id));
        else setDbError((err as Error).message);
      }
    },
    [dispatch, recordChange],
  );

  return { annotations, loading, dbError, selected, save, dismissPrediction, acceptPrediction, remove, moveSpan, history };
}
