'use client';

/**
 * The annotator's screen: partition selector, chart, annotation list and dialog, wired to
 * /api/*, and the prediction overlay (panel, bars, markers, disagreement highlights) unless
 * it is switched off. Annotations never depend on the inference service: when it is down, the
 * banners say so and the annotations (and any candles already loaded) stay usable.
 *
 * The state lives in hooks, one job each (hooks/): partitions, labels, candles, annotations,
 * the dialog reducer, predictions, the service health poll, the keyboard; this file wires them.
 */
import { useCallback, useMemo, useRef, useState } from 'react';
import { useReviewKeys } from '@/hooks/useReviewKeys';
import { currentIndex, ordered, step, type ReviewCursor } from '@/lib/review-cursor';
import { useAnnotationDialog, isDialogOpen } from '@/hooks/useAnnotationDialog';
import { useAnnotations } from '@/hooks/useAnnotations';
import { useCandleHistory, type HistoryTarget } from '@/hooks/useCandleHistory';
import { useKeyboardShortcuts } from '@/hooks/useKeyboardShortcuts';
import { useLabelPalette } from '@/hooks/useLabelPalette';
import { usePartitions, type AnnotatedPartition, type Selection } from '@/hooks/usePartitions';
import { usePredictionOverlay } from '@/hooks/usePredictionOverlay';
import { usePredictions } from '@/hooks/usePredictions';
import { useServiceHealthPoll } from '@/hooks/useServiceHealth';
import { useSpanJump } from '@/hooks/useSpanJump';
import type { PredictionSettings } from '@/lib/predictions/settings';
import { spanIndexRange, type IndexRange } from '@/lib/spans';
import type { LabelDef } from '@/types';
import type { Disagreement } from '@/types/predictions';
import { AnnotationDialog } from './AnnotationDialog';
import { AnnotationList } from './AnnotationList';
import { AnnotationToolbar } from './AnnotationToolbar';
import { CandleChart, type CandleChartHandle, type ChartMode } from './CandleChart';
import { KeyboardHelp } from './KeyboardHelp';
import { PartitionSelector } from './PartitionSelector';
import { PredictionPanel } from './PredictionPanel';
import { ReviewQueuePanel } from './ReviewQueuePanel';
import { ServiceBanner } from './ServiceBanner';
import { UndoToast } from './UndoToast';

/** A view held this long (ms) is where the review starts. */
const VIEW_SETTLE_MS = 250;

export interface WorkbenchProps {
  defaultLabels: readonly LabelDef[];
  /** Partitions that have annotations (read from the database by the page). */
  annotatedPartitions: readonly AnnotatedPartition[];
  initialSelection: Selection | null;
  databaseError: string | null;
  /** The prediction overlay: on or off, and how often the model server is polled. */
  predictions: PredictionSettings;
}

export function Workbench({ defaultLabels, annotatedPartitions, initialSelection, databaseError, predictions: predictionSettings }: WorkbenchProps) {
  const [mode, setMode] = useState<ChartMode>('pan');
  const chartRef = useRef<CandleChartHandle>(null);

  // --- Service data: partitions and labels -----------------------------------------------------
  const service = usePartitions(annotatedPartitions, initialSelection);
  const { selection, partition } = service;
  const { palette, reload: reloadLabels } = useLabelPalette(defaultLabels);

  // --- Candles ---------------------------------------------------------------------------------
  const firstTime = partition?.first_time;
  const lastTime = partition?.last_time;
  const target = useMemo<HistoryTarget | null>(
    () =>
      selection && service.settled
        ? { pair: selection.pair, timeframe: selection.timeframe, first_time: firstTime, last_time: lastTime }
        : null,
    [selection, service.settled, firstTime, lastTime],
  );
  const history = useCandleHistory(target);
  const times = useMemo(() => history.candles.map((c) => c.time), [history.candles]);

  // --- Annotations and the dialog --------------------------------------------------------------
  const [dialog, dispatch] = useAnnotationDialog();
  const store = useAnnotations(selection, databaseError, dialog, dispatch);
  const { annotations, selected, remove, dismissPrediction } = store;
  const { pending } = dialog;

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
  const { overlay, chartOverlay } = usePredictionOverlay(predictionsOn, ps, annotations, palette);

  // --- Service status: a banner while it is unreachable, polled until it is back --------------
  const unreachable = [service.error, history.error].find((e) => e?.serviceUnreachable) ?? null;
  const serviceError = unreachable?.message ?? null;
  const otherCandleError = history.error && !history.error.serviceUnreachable ? history.error.message : null;
  const hasCandles = history.candles.length > 0;
  const { reload: reloadPartitions } = service;
  const { reload: reloadCandles, loadOlder } = history;
  const retry = useCallback(() => {
    reloadPartitions();
    reloadLabels();
    if (!hasCandles || history.fromCache) reloadCandles();
    else void loadOlder();
  }, [reloadPartitions, reloadLabels, hasCandles, history.fromCache, reloadCandles, loadOlder]);
  useServiceHealthPoll(serviceError !== null, retry);

  // --- Jumping to a span, reviewing a prediction -----------------------------------------------
  const jumpTo = useSpanJump(chartRef, history);

  const reviewDisagreement = useCallback(
    (id: string) => {
      const d = overlay.report.disagreements.find((x) => x.id === id);
      if (!d?.prediction) return;
      const range = spanIndexRange(times, d.prediction.start_time, d.prediction.end_time);
      if (!range) return;
      chartRef.current?.cancelSelection();
      dispatch({
        type: 'spanChosen',
        span: { ...range, start_time: d.prediction.start_time, end_time: d.prediction.end_time, prediction: d.prediction },
      });
    },
    [overlay, times, dispatch],
  );

  // --- The review cursor: starts at the view, n/p step, moves on after an action ------------
  const [viewStart, setViewStart] = useState<number | null>(null);
  const { viewChanged } = predictions;
  // Settled views only: panning must not re-render the workbench on every frame.
  const viewTimer = useRef<ReturnType<typeof setTimeout> | null>(null);
  const onViewChange = useCallback(
    (range: IndexRange | null) => {
      viewChanged(range);
      const i = range ? Math.max(0, Math.ceil(range.from)) : null;
      const start = i !== null && i < times.length ? times[i] : null;
      if (viewTimer.current) clearTimeout(viewTimer.current);
      viewTimer.current = setTimeout(() => setViewStart(start), VIEW_SETTLE_MS);
    },
    [viewChanged, times],
  );
  const reviewList = useMemo(() => ordered(overlay.report.disagreements), [overlay.report.disagreements]);
  const [cursor, setCursor] = useState<ReviewCursor | null>(null);
  const reviewIndex = currentIndex(reviewList, cursor, viewStart);
  const current = reviewIndex >= 0 ? reviewList[reviewIndex] : null;
  const stepReview = useCallback(
    (by: 1 | -1) => {
      const next = step(reviewList, cursor, viewStart, by);
      setCursor(next);
      const d = next && reviewList.find((x) => x.id === next.id);
      if (d) void jumpTo(d);
    },
    [reviewList, cursor, viewStart, jumpTo],
  );
  // The label for the next drawn span (keys 1-9 outside the dialog).
  const [drawLabel, setDrawLabel] = useState<string | null>(null);
  const [helpOpen, setHelpOpen] = useState(false);
  const { acceptPrediction } = store;
  useReviewKeys({
    dialogOpen: isDialogOpen(dialog, selected !== null),
    onStep: stepReview,
    onAccept: () => {
      if (!current?.prediction) return;
      setCursor({ id: current.id, time: current.start_time });
      void acceptPrediction(current.prediction);
    },
    onDismiss: () => {
      if (!current?.prediction) return;
      setCursor({ id: current.id, time: current.start_time });
      void dismissPrediction(current.prediction, false);
    },
    onLabelKey: (i) => {
      const l = palette.labels[i];
      if (l) setDrawLabel(l.name);
    },
    onHelp: () => setHelpOpen((open) => !open),
  });

  // --- Keyboard: Esc cancels, Delete removes the selected span, Ctrl+Z / Ctrl+Shift+Z -----------
  useKeyboardShortcuts({
    onEscape: () => {
      if (helpOpen) return setHelpOpen(false);
      chartRef.current?.cancelSelection();
      dispatch({ type: 'escaped' });
    },
    onDelete: () => {
      if (!selected) return false;
      void remove(selected);
      return true;
    },
    onUndo: () => void store.history.undo(),
    onRedo: () => void store.history.redo(),
  });

  // --- Render ----------------------------------------------------------------------------------
  const dialogOpen = isDialogOpen(dialog, selected !== null);
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
        <PartitionSelector options={service.options} value={selection} onChange={service.select} />
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
        databaseError={store.dbError}
        onRetry={retry}
        fromCache={history.fromCache}
        modelOffline={predictionsOn && ps.server === 'offline' ? { detail: ps.error, onRetry: predictions.checkServer } : null}
      />
      <main className="main">
        <section className="chart-area">
          <CandleChart
            ref={chartRef}
            candles={history.candles}
            seriesKey={history.key}
            spans={annotations}
            colorOf={palette.colorOf}
            selectedId={dialog.selectedId}
            pending={pending}
            mode={mode}
            historyComplete={history.complete}
            onSelect={(span) => dispatch({ type: 'spanChosen', span })}
            onSpanClick={(id) => dispatch({ type: 'spanClicked', id })}
            onNearOldest={() => void history.loadOlder()}
            predictions={chartOverlay}
            onDisagreementClick={reviewDisagreement}
            onViewChange={onViewChange}
            onSpanChange={(id, start, end) => {
              const a = annotations.find((x) => x.id === id);
              if (a) void store.moveSpan(a, start, end);
            }}
          />
          {predictionsOn && ps.isLoading && <div className="chart-shimmer" data-testid="prediction-loading" aria-hidden />}
          {!history.candles.length && (
            <div className="chart-empty" data-testid="chart-empty">
              {!selection
                ? service.settled
                  ? 'No pair and timeframe to show yet: the inference service lists them once it has data (make demo).'
                  : 'Loading pairs and timeframes…'
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
              palette={palette}
              initial={
                pending
                  ? { label: pending.prediction?.label ?? drawLabel ?? palette.labels[0]?.name ?? '', confidence: 1, note: '' }
                  : { label: selected!.label, confidence: selected!.confidence, note: selected!.note }
              }
              saving={dialog.saving}
              error={dialog.error}
              prediction={pending?.prediction}
              onNotAPattern={pending?.prediction ? () => void dismissPrediction(pending.prediction!, true) : undefined}
              onSave={(values) => void store.save(values)}
              onCancel={() => {
                chartRef.current?.cancelSelection();
                dispatch({ type: 'closed' });
              }}
              onDelete={pending ? undefined : () => void remove(selected!)}
            />
          )}
        </section>
        <div className="sidebar">
          <ReviewQueuePanel selection={selection} times={times} store={store} dialog={dialog} dispatch={dispatch} jumpTo={jumpTo} />
          {predictionsOn && (
            <PredictionPanel
              controller={predictions}
              palette={palette}
              report={overlay.report}
              reviewList={reviewList}
              currentId={current?.id ?? null}
              viewStart={viewStart}
              onStep={stepReview}
              candlestickSpans={overlay.candlestickSpans}
              onJump={(d: Disagreement) => void jumpTo(d)}
              onReview={(d) => {
                setCursor({ id: d.id, time: d.start_time });
                void jumpTo(d);
                reviewDisagreement(d.id);
              }}
              onNotAPattern={(d) => {
                setCursor({ id: d.id, time: d.start_time });
                if (d.prediction) void dismissPrediction(d.prediction, false);
              }}
            />
          )}
          <AnnotationList
            annotations={annotations}
            colorOf={palette.colorOf}
            selectedId={dialog.selectedId}
            loading={store.loading}
            onJump={(a) => {
              dispatch({ type: 'selected', id: a.id });
              void jumpTo(a);
            }}
            onEdit={(a) => dispatch({ type: 'editRequested', id: a.id })}
            onDelete={(a) => void remove(a)}
          />
        </div>
      </main>
      {helpOpen && <KeyboardHelp onClose={() => setHelpOpen(false)} />}
      <UndoToast toast={store.history.toast} onUndo={() => void store.history.undo()} onClose={store.history.closeToast} />
    </div>
  );
}
