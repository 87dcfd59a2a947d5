'use client';

/**
 * The annotator's screen: partition selector, chart, annotation list and dialog, wired to
 * /api/*, and the prediction overlay (panel, bars, markers, disagreement highlights) unless
 * it is switched off. Annotations never depend on the inference service: when it is down, the
 * banners say so and the annotations (and any candles already loaded) stay usable.
 */
import { useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { useCandleHistory, type HistoryTarget } from '@/hooks/useCandleHistory';
import { usePredictions } from '@/hooks/usePredictions';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import { NEGATIVE_LABEL } from '@/lib/constants';
import { labelColorFn, mergeLabels } from '@/lib/labels';
import { buildOverlay } from '@/lib/predictions/overlay';
import type { PredictionSettings } from '@/lib/predictions/settings';
import { spanIndexRange, timeframeSeconds, type SelectedSpan } from '@/lib/spans';
import type { LabelDef, Partition, SpanAnnotation } from '@/types';
import type { Disagreement, PredictionSpan } from '@/types/predictions';
import { AnnotationDialog, type DialogValues } from './AnnotationDialog';
import { AnnotationList } from './AnnotationList';
import { AnnotationToolbar } from './AnnotationToolbar';
import { CandleChart, type CandleChartHandle, type ChartMode, type ChartPredictionOverlay } from './CandleChart';
import { PartitionSelector, partitionKey, type PartitionOption } from './PartitionSelector';
import { PredictionPanel } from './PredictionPanel';
import { ServiceBanner } from './ServiceBanner';

export interface WorkbenchProps {
  defaultLabels: readonly LabelDef[];
  /** Partitions that have annotations (read from the database by the page). */
  annotatedPartitions: readonly { pair: string; timeframe: string; annotations: number }[];
  initialSelection: { pair: string; timeframe: string } | null;
  databaseError: string | null;
  /** The prediction overlay: on or off, and how often the model server is polled. */
  predictions: PredictionSettings;
}

type Selection = { pair: string; timeframe: string };
/** A span waiting in the dialog; from a prediction when `prediction` is set. */
type PendingSpan = SelectedSpan & { prediction?: PredictionSpan };

const HEALTH_POLL_MS = 10_000;
const byStart = (a: SpanAnnotation, b: SpanAnnotation) => a.start_time - b.start_time || a.created_at.localeCompare(b.created_at);

/** What the model said, as an annotation's model_prediction. */
function modelPredictionOf(p: PredictionSpan) {
  return { label: p.label, confidence: Math.min(1, Math.max(0, p.confidence)), model_version: p.model_version };
}

export function Workbench({ defaultLabels, annotatedPartitions, initialSelection, databaseError, predictions: predictionSettings }: WorkbenchProps) {
  const [partitions, setPartitions] = useState<Partition[] | null>(null);
  const [partitionsError, setPartitionsError] = useState<ApiRequestError | null>(null);
  const [selection, setSelection] = useState<Selection | null>(initialSelection);
  const [serviceLabels, setServiceLabels] = useState<unknown>(null);
  const [annotations, setAnnotations] = useState<SpanAnnotation[]>([]);
  const [annotationsLoading, setAnnotationsLoading] = useState(false);
  const [dbError, setDbError] = useState<string | null>(databaseError);
  const [mode, setMode] = useState<ChartMode>('pan');
  const [pending, setPending] = useState<PendingSpan | null>(null);
  const [selectedId, setSelectedId] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const [saving, setSaving] = useState(false);
  const [dialogError, setDialogError] = useState<string | null>(null);
  const [jumpTo, setJumpTo] = useState<{ start: number; end: number } | null>(null);
  const chartRef = useRef<CandleChartHandle>(null);

  const labels = useMemo(() => mergeLabels(defaultLabels, serviceLabels), [defaultLabels, serviceLabels]);
  const colorOf = useMemo(() => labelColorFn(labels), [labels]);

  // --- Service data: partitions and labels -----------------------------------------------------
  const loadPartitions = useCallback(async () => {
    try {
      const list = await apiFetch<Partition[]>('/api/partitions');
      setPartitions(list);
      setPartitionsError(null);
      setSelection((current) => current ?? (list[0] ? { pair: list[0].pair, timeframe: list[0].timeframe } : null));
    } catch (err) {
      setPartitionsError(err as ApiRequestError);
      // Without the service, fall back to the partitions that have annotations.
      setSelection((current) => current ?? (annotatedPartitions[0] ? { ...annotatedPartitions[0] } : null));
    }
  }, [annotatedPartitions]);

  const loadLabels = useCallback(async () => {
    // The configured labels are enough to annotate; the service's are a bonus.
    try {
      setServiceLabels(await apiFetch<unknown>('/api/model/labels'));
    } catch {
      /* keep the configured labels */
    }
  }, []);

  useEffect(() => {
    void loadPartitions();
    void loadLabels();
  }, [loadPartitions, loadLabels]);

  // --- Candles ---------------------------------------------------------------------------------
  const partition = useMemo(
    () => (selection && partitions?.find((p) => p.pair === selection.pair && p.timeframe === selection.timeframe)) || null,
    [partitions, selection],
  );
  const partitionsSettled = partitions !== null || partitionsError !== null;
  const firstTime = partition?.first_time;
  const lastTime = partition?.last_time;
  const target = useMemo<HistoryTarget | null>(
    () =>
      selection && partitionsSettled
        ? { pair: selection.pair, timeframe: selection.timeframe, first_time: firstTime, last_time: lastTime }
        : null,
    [selection, partitionsSettled, firstTime, lastTime],
  );
  const history = useCandleHistory(target);
  const times = useMemo(() => history.candles.map((c) => c.time), [history.candles]);

  // --- Predictions: one state container; the overlay is derived from it and the annotations --
  const predictionsOn = predictionSettings.enabled;
  const predictions = usePredictions({
    enabled: predictionsOn,
    pair: selection?.pair ?? null,
    timeframe: selection?.timeframe ?? null,
    candles: history.candles,
    pollMs: predictionSettings.pollMs,
  });
  const ps = predictions.state;
  const overlay = useMemo(
    () =>
      buildOverlay({
        result: ps.result,
        human: annotations,
        filter: { threshold: ps.confidenceThreshold, selectedLabels: ps.selectedLabels },
        showOnlyDisagreements: ps.showOnlyDisagreements,
        colorOf,
      }),
    [ps.result, annotations, ps.confidenceThreshold, ps.selectedLabels, ps.showOnlyDisagreements, colorOf],
  );
  const chartOverlay = useMemo<ChartPredictionOverlay | null>(
    () =>
      predictionsOn
        ? { visible: ps.visible, bars: overlay.bars, markers: overlay.markers, highlights: overlay.report.disagreements }
        : null,
    [predictionsOn, ps.visible, overlay],
  );

  // --- Annotations -----------------------------------------------------------------------------
  useEffect(() => {
    setAnnotations([]);
    setSelectedId(null);
    setPending(null);
    setEditing(false);
    if (!selection) return;
    let cancelled = false;
    setAnnotationsLoading(true);
    const q = new URLSearchParams(selection);
    apiFetch<SpanAnnotation[]>(`/api/span-annotations?${q}`)
      .then((list) => {
        if (cancelled) return;
        setAnnotations(list);
        setDbError(null);
      })
      .catch((err: ApiRequestError) => !cancelled && setDbError(err.message))
      .finally(() => !cancelled && setAnnotationsLoading(false));
    // Keep the choice in the address, so a reload shows the same chart.
    const url = new URL(window.location.href);
    url.searchParams.set('pair', selection.pair);
    url.searchParams.set('timeframe', selection.timeframe);
    window.history.replaceState(null, '', url);
    return () => {
      cancelled = true;
    };
  }, [selection]);

  // --- Service status: a banner while it is unreachable, polled until it is back --------------
  const unreachable = [partitionsError, history.error].find((e) => e?.serviceUnreachable) ?? null;
  const serviceError = unreachable?.message ?? null;
  const otherCandleError = history.error && !history.error.serviceUnreachable ? history.error.message : null;
  const candlesRef = useRef(history.candles.length);
  candlesRef.current = history.candles.length;
  const { reload: reloadCandles, loadOlder } = history;
  const retry = useCallback(() => {
    void loadPartitions();
    void loadLabels();
    if (!candlesRef.current) reloadCandles();
    else void loadOlder();
  }, [loadPartitions, loadLabels, reloadCandles, loadOlder]);

  useEffect(() => {
    if (!serviceError) return;
    const timer = setInterval(async () => {
      const res = await fetch('/api/health', { cache: 'no-store' }).catch(() => null);
      if (res && res.status !== 502 && res.status !== 504) retry();
    }, HEALTH_POLL_MS);
    return () => clearInterval(timer);
  }, [serviceError, retry]);

  // --- Jumping to a span (after its candles are loaded) ----------------------------------------
  useEffect(() => {
    if (jumpTo && chartRef.current?.showSpan(jumpTo.start, jumpTo.end)) setJumpTo(null);
  }, [jumpTo, history.candles]);

  const jump = useCallback(
    async (a: SpanAnnotation) => {
      setSelectedId(a.id);
      setPending(null);
      setEditing(false);
      const room = 20 * timeframeSeconds(a.timeframe);
      await history.loadUntil(a.start_time - room);
      setJumpTo({ start: a.start_time, end: a.end_time });
    },
    [history],
  );

  // --- Saving, editing, deleting ---------------------------------------------------------------
  const selected = annotations.find((a) => a.id === selectedId) ?? null;

  const closeDialog = useCallback(() => {
    setPending(null);
    setEditing(false);
    setDialogError(null);
  }, []);

  const save = async (values: DialogValues) => {
    if (!selection) return;
    setSaving(true);
    setDialogError(null);
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
        setSelectedId(created.id);
      } else if (selected) {
        const updated = await apiFetch<SpanAnnotation>(`/api/span-annotations/${selected.id}`, {
          method: 'PATCH',
          body: JSON.stringify(values),
        });
        setAnnotations((list) => list.map((a) => (a.id === updated.id ? updated : a)));
      }
      setPending(null);
      setEditing(false);
    } catch (err) {
      setDialogError((err as Error).message);
    } finally {
      setSaving(false);
    }
  };

  /** "Not a pattern": a negative annotation over the prediction, with what the model said. */
  const dismissPrediction = useCallback(async (p: PredictionSpan, inDialog: boolean) => {
    setSaving(true);
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
      setPending(null);
      setDialogError(null);
    } catch (err) {
      // In the dialog, the dialog says why; from the list, the banner does.
      if (inDialog) setDialogError((err as Error).message);
      else setDbError((err as Error).message);
    } finally {
      setSaving(false);
    }
  }, []);

  const reviewDisagreement = useCallback(
    (id: string) => {
      const d = overlay.report.disagreements.find((x) => x.id === id);
      if (!d?.prediction) return;
      const range = spanIndexRange(times, d.prediction.start_time, d.prediction.end_time);
      if (!range) return;
      chartRef.current?.cancelSelection();
      setSelectedId(null);
      setEditing(false);
      setDialogError(null);
      setPending({ ...range, start_time: d.prediction.start_time, end_time: d.prediction.end_time, prediction: d.prediction });
    },
    [overlay, times],
  );

  const jumpToDisagreement = useCallback(
    async (d: Disagreement) => {
      await history.loadUntil(d.start_time - 20 * timeframeSeconds(d.timeframe));
      setJumpTo({ start: d.start_time, end: d.end_time });
    },
    [history],
  );

  const remove = useCallback(async (a: SpanAnnotation) => {
    try {
      await apiFetch<void>(`/api/span-annotations/${a.id}`, { method: 'DELETE' });
      setAnnotations((list) => list.filter((x) => x.id !== a.id));
      setSelectedId((id) => (id === a.id ? null : id));
      setEditing(false);
      setDialogError(null);
    } catch (err) {
      if ((err as ApiRequestError).status === 404) setAnnotations((list) => list.filter((x) => x.id !== a.id));
      else setDbError((err as Error).message);
    }
  }, []);

  // --- Keyboard: Esc cancels, Delete removes the selected span ---------------------------------
  const selectedRef = useRef(selected);
  selectedRef.current = selected;
  const dialogOpen = Boolean(pending || (editing && selected));
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') {
        chartRef.current?.cancelSelection();
        if (pending || editing) closeDialog();
        else setSelectedId(null);
        return;
      }
      const el = e.target as HTMLElement | null;
      const typing = el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
      if (e.key === 'Delete' && !typing && selectedRef.current) {
        e.preventDefault();
        void remove(selectedRef.current);
      }
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [pending, editing, closeDialog, remove]);

  // --- Render ----------------------------------------------------------------------------------
  const options: PartitionOption[] = useMemo(() => {
    const byKey = new Map<string, PartitionOption>();
    for (const p of partitions ?? []) byKey.set(partitionKey(p), { pair: p.pair, timeframe: p.timeframe, candles: p.candles });
    for (const a of annotatedPartitions) {
      const k = partitionKey(a);
      byKey.set(k, { ...(byKey.get(k) ?? { pair: a.pair, timeframe: a.timeframe }), annotations: a.annotations });
    }
    return [...byKey.values()];
  }, [partitions, annotatedPartitions]);

  const exportHref = selection
    ? `/api/span-annotations/export?${new URLSearchParams({ ...selection, download: '1' })}`
    : null;

  const candleCount = (start: number, end: number) => {
    const r = spanIndexRange(times, start, end);
    return r ? r.to - r.from + 1 : null;
  };

  return (
    <div className="app">
      <header className="header">
        <h1>Candle pattern annotator</h1>
        <PartitionSelector options={options} value={selection} onChange={setSelection} />
        <AnnotationToolbar
          mode={mode}
          onModeChange={setMode}
          exportHref={exportHref}
          loadingCandles={history.loading}
          historyComplete={history.complete && history.candles.length > 0}
        />
      </header>
      <ServiceBanner
        serviceError={serviceError}
        databaseError={dbError}
        onRetry={retry}
        modelOffline={
          predictionsOn && ps.server === 'offline' ? { pollMs: predictions.pollMs, onRetry: predictions.checkServer } : null
        }
      />
      <main className="main">
        <section className="chart-area">
          <CandleChart
            ref={chartRef}
            candles={history.candles}
            seriesKey={history.key}
            spans={annotations}
            colorOf={colorOf}
            selectedId={selectedId}
            pending={pending}
            mode={mode}
            historyComplete={history.complete}
            onSelect={(span) => {
              setPending(span);
              setSelectedId(null);
              setEditing(false);
              setDialogError(null);
            }}
            onSpanClick={(id) => {
              setSelectedId(id);
              setEditing(id !== null);
              setPending(null);
              setDialogError(null);
            }}
            onNearOldest={() => void history.loadOlder()}
            predictions={chartOverlay}
            onDisagreementClick={reviewDisagreement}
            onViewChange={predictions.viewChanged}
          />
          {predictionsOn && ps.isLoading && <div className="chart-shimmer" data-testid="prediction-loading" aria-hidden />}
          {!history.candles.length && (
            <div className="chart-empty" data-testid="chart-empty">
              {!selection
                ? 'No pair and timeframe to show yet: the inference service lists them once it has data (make demo).'
                : history.loading
                  ? 'Loading candles…'
                  : otherCandleError
                    ? `No candles for ${selection.pair} · ${selection.timeframe}: ${otherCandleError}`
                    : serviceError
                      ? 'Candles will appear when the inference service is back. The annotations on the right can still be edited and exported.'
                      : `No candles stored for ${selection.pair} · ${selection.timeframe}.`}
            </div>
          )}
          {dialogOpen && selection && (
            <AnnotationDialog
              key={pending ? `new-${pending.start_time}-${pending.end_time}` : `edit-${selected!.id}`}
              mode={pending ? 'create' : 'edit'}
              pair={selection.pair}
              timeframe={selection.timeframe}
              startTime={pending ? pending.start_time : selected!.start_time}
              endTime={pending ? pending.end_time : selected!.end_time}
              candleCount={pending ? pending.to - pending.from + 1 : candleCount(selected!.start_time, selected!.end_time)}
              labels={labels}
              initial={
                pending
                  ? { label: pending.prediction?.label ?? labels[0]?.name ?? '', confidence: 1, note: '' }
                  : { label: selected!.label, confidence: selected!.confidence, note: selected!.note }
              }
              saving={saving}
              error={dialogError}
              prediction={pending?.prediction}
              onNotAPattern={pending?.prediction ? () => void dismissPrediction(pending.prediction!, true) : undefined}
              onSave={(values) => void save(values)}
              onCancel={() => {
                chartRef.current?.cancelSelection();
                closeDialog();
              }}
              onDelete={pending ? undefined : () => void remove(selected!)}
            />
          )}
        </section>
        <div className="sidebar">
        {predictionsOn && (
          <PredictionPanel
            controller={predictions}
            labels={labels}
            report={overlay.report}
            onJump={(d) => void jumpToDisagreement(d)}
            onReview={(d) => {
              void jumpToDisagreement(d);
              reviewDisagreement(d.id);
            }}
            onNotAPattern={(d) => d.prediction && void dismissPrediction(d.prediction, false)}
          />
        )}
        <AnnotationList
          annotations={annotations}
          colorOf={colorOf}
          selectedId={selectedId}
          loading={annotationsLoading}
          onJump={(a) => void jump(a)}
          onEdit={(a) => {
            setSelectedId(a.id);
            setEditing(true);
            setPending(null);
          }}
          onDelete={(a) => void remove(a)}
        />
        </div>
      </main>
    </div>
  );
}
