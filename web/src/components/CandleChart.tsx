'use client';

/**
 * The candle chart: candles and volume from the loaded history, saved spans as rectangles
 * behind the candles, span selection (chart/useSpanSelection.ts), an OHLCV readout of the
 * candle under the crosshair (chart/OhlcvReadout.tsx), and a callback when the view nears the
 * oldest loaded candle. The prediction overlay (given as plain data, lib/predictions/overlay.ts)
 * is drawn on the same chart by chart/prediction-layers.ts; the look is chart/theme.ts.
 *
 * Lifecycle as in lightweight-charts' React tutorial: the chart is created once in an effect
 * from a ref and removed on cleanup; data changes go to the existing series.
 */
import {
  CandlestickSeries,
  createChart,
  HistogramSeries,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type LogicalRange,
  type MouseEventParams,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useImperativeHandle, useMemo, useRef, useState, type Ref } from 'react';
import { useLatest } from '@/hooks/useLatest';
import { priceRange, pricePrecision, spanIndexRange, type IndexRange, type SelectedSpan } from '@/lib/spans';
import type { OverlayBar, OverlayMarker } from '@/lib/predictions/overlay';
import type { Candle, SpanAnnotation } from '@/types';
import type { Disagreement } from '@/types/predictions';
import { OhlcvReadout } from './chart/OhlcvReadout';
import { barData, highlightData, markerData, PredictionLayers } from './chart/prediction-layers';
import { SpanRectangles, type SpanBox } from './chart/span-rectangles';
import {
  CANDLE_SCALE_MARGINS,
  candleSeriesOptions,
  chartOptions,
  VOLUME_SCALE_ID,
  VOLUME_SCALE_MARGINS,
  DOWN,
  UP,
  volumeColor,
  volumeSeriesOptions,
} from './chart/theme';
import { useSpanDrag } from './chart/useSpanDrag';
import { useSpanSelection, type ChartMode } from './chart/useSpanSelection';

export type { ChartMode };

export interface CandleChartHandle {
  /** Forget a selection in progress (Esc). */
  cancelSelection(): void;
  /** Bring [start, end] into view with some room around it. Returns false when none of it is loaded. */
  showSpan(start: number, end: number): boolean;
}

/** What the chart draws of the model's predictions (built by lib/predictions/overlay.ts). */
export interface ChartPredictionOverlay {
  /** The master toggle: false hides bars, markers and highlights. */
  visible: boolean;
  bars: readonly OverlayBar[];
  markers: readonly OverlayMarker[];
  highlights: readonly Disagreement[];
}

export interface CandleChartProps {
  ref?: Ref<CandleChartHandle>;
  candles: readonly Candle[];
  /** Changes when another pair/timeframe is shown: the view then jumps to the newest candles. */
  seriesKey: string;
  spans: readonly SpanAnnotation[];
  colorOf: (label: string) => string;
  selectedId: string | null;
  /** A chosen span waiting in the dialog, drawn as a draft. */
  pending: { start_time: number; end_time: number } | null;
  mode: ChartMode;
  /** The oldest stored candle is loaded: the view stops at it instead of scrolling into emptiness. */
  historyComplete: boolean;
  onSelect: (span: SelectedSpan) => void;
  onSpanClick: (id: string | null) => void;
  /** The view came within two screens of the oldest loaded candle: time to load older ones. */
  onNearOldest: () => void;
  predictions?: ChartPredictionOverlay | null;
  /** A clickable disagreement highlight (one with a prediction) was clicked, in pan mode. */
  onDisagreementClick?: (id: string) => void;
  /** The selected span was moved or resized with its drag handles: its new first and last candle times. */
  onSpanChange?: (id: string, start_time: number, end_time: number) => void;
  /** The visible range changed (logical indexes into `candles`; fractional, may run past the ends). */
  onViewChange?: (range: IndexRange | null) => void;
}

const VISIBLE_BARS_ON_OPEN = 150;

export function CandleChart(props: CandleChartProps) {
  const { ref, candles, seriesKey, spans, colorOf, selectedId, pending, mode, historyComplete } = props;
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const candleSeriesRef = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volumeSeriesRef = useRef<ISeriesApi<'Histogram'> | null>(null);
  const rectanglesRef = useRef<SpanRectangles | null>(null);
  const layersRef = useRef<PredictionLayers | null>(null);
  const shownKeyRef = useRef<string | null>(null);

  // Latest props for handlers subscribed once.
  const latestRef = useLatest(props);
  const times = useMemo(() => candles.map((c) => c.time), [candles]);
  const timesRef = useLatest<readonly number[]>(times);
  const [hover, setHover] = useState<Candle | null>(null);

  // Create the chart once.
  useEffect(() => {
    const container = containerRef.current!;
    const chart = createChart(container, chartOptions);
    // First, so its bars are drawn behind the candles.
    const layers = new PredictionLayers(chart);
    const candleSeries = chart.addSeries(CandlestickSeries, candleSeriesOptions);
    const volumeSeries = chart.addSeries(HistogramSeries, volumeSeriesOptions);
    chart.priceScale(VOLUME_SCALE_ID).applyOptions({ scaleMargins: VOLUME_SCALE_MARGINS });
    candleSeries.priceScale().applyOptions({ scaleMargins: CANDLE_SCALE_MARGINS });
    const rectangles = new SpanRectangles({ colorOf: latestRef.current.colorOf });
    candleSeries.attachPrimitive(rectangles);
    layers.attach(candleSeries);
    // For the browser tests: where a span and its label are drawn, or null; the marker texts
    // and disagreement highlights drawn in the view. CSS pixels of the chart.
    Object.assign(container, {
      spanBox: (id: string) => rectangles.boxOf(id),
      spanLabelBox: (id: string) => rectangles.labelBoxOf(id),
      markerTextBoxes: () => layers.markerTextBoxes(chart),
      highlightBoxes: () => layers.highlightBoxes(),
    });

    chartRef.current = chart;
    candleSeriesRef.current = candleSeries;
    volumeSeriesRef.current = volumeSeries;
    rectanglesRef.current = rectangles;
    layersRef.current = layers;

    const onCrosshairMove = (param: MouseEventParams) => {
      const bar = param.time === undefined ? undefined : (param.seriesData.get(candleSeries) as CandlestickData | undefined);
      if (!bar) return setHover(null);
      const vol = param.seriesData.get(volumeSeries) as HistogramData | undefined;
      setHover({ time: Number(bar.time), open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: vol?.value ?? 0 });
    };
    const onClick = (param: MouseEventParams) => {
      const p = latestRef.current;
      if (p.mode !== 'pan' || !param.point) return;
      // The release of a drag of the span's handles (chart/useSpanDrag.ts) is no click.
      if (Date.now() - Number(container.dataset.dragEndedAt ?? 0) < 400) return;
      // A saved span first (it can be edited), then a prediction to review.
      const spanId = rectangles.spanAt(param.point.x, param.point.y);
      const highlightId = spanId ? null : layers.highlightAt(param.point.x, param.point.y);
      if (highlightId && p.onDisagreementClick) p.onDisagreementClick(highlightId);
      else p.onSpanClick(spanId);
    };
    const onRange = (range: LogicalRange | null) => {
      // Written straight to the element: it changes while panning, which must not re-render.
      if (layers.viewChanged(range, chart.timeScale().width())) {
        container.dataset.markerDetail = layers.markerDetail;
        container.dataset.markerTexts = String(layers.markerTexts);
      }
      if (range) {
        // For the browser tests: the view in candle indexes (the newest candle is length - 1).
        container.dataset.viewFrom = range.from.toFixed(1);
        container.dataset.viewTo = range.to.toFixed(1);
      }
      latestRef.current.onViewChange?.(range ? { from: range.from, to: range.to } : null);
      if (range && timesRef.current.length && range.from < Math.max(100, 2 * (range.to - range.from))) latestRef.current.onNearOldest();
    };
    chart.subscribeCrosshairMove(onCrosshairMove);
    chart.subscribeClick(onClick);
    chart.timeScale().subscribeVisibleLogicalRangeChange(onRange);

    return () => {
      chart.unsubscribeCrosshairMove(onCrosshairMove);
      chart.unsubscribeClick(onClick);
      chart.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      layers.detach();
      chart.remove();
      chartRef.current = null;
      candleSeriesRef.current = null;
      volumeSeriesRef.current = null;
      rectanglesRef.current = null;
      layersRef.current = null;
      shownKeyRef.current = null;
    };
  }, [latestRef, timesRef]);

  const { draft, cancel: cancelSelection } = useSpanSelection({ containerRef, chartRef, timesRef, mode, onSelect: props.onSelect });
  const selectedSpan = spans.find((s) => s.id === selectedId);
  const selectedRange = selectedSpan ? spanIndexRange(times, selectedSpan.start_time, selectedSpan.end_time) : null;
  const dragged = useSpanDrag({
    containerRef,
    chartRef,
    rectanglesRef,
    timesRef,
    mode,
    selected: selectedSpan && selectedRange ? { id: selectedSpan.id, ...selectedRange } : null,
    onChange: (id, r) => latestRef.current.onSpanChange?.(id, timesRef.current[r.from], timesRef.current[r.to]),
  });

  // Candles: older pages are prepended in place (the view stays put); a new partition jumps to its end.
  useEffect(() => {
    const chart = chartRef.current;
    const candleSeries = candleSeriesRef.current;
    const volumeSeries = volumeSeriesRef.current;
    if (!chart || !candleSeries || !volumeSeries) return;
    const newPartition = shownKeyRef.current !== seriesKey;
    if (newPartition && candles.length) {
      const precision = pricePrecision(candles[candles.length - 1].close);
      candleSeries.applyOptions({ priceFormat: { type: 'price', precision, minMove: 10 ** -precision } });
    }
    candleSeries.setData(
      candles.map((c) => ({ time: c.time as UTCTimestamp, open: c.open, high: c.high, low: c.low, close: c.close })),
    );
    volumeSeries.setData(candles.map((c) => ({ time: c.time as UTCTimestamp, value: c.volume, color: volumeColor(c) })));
    if (newPartition && candles.length) {
      shownKeyRef.current = seriesKey;
      chart.timeScale().setVisibleLogicalRange({ from: candles.length - VISIBLE_BARS_ON_OPEN, to: candles.length + 5 });
    }
    if (!candles.length) shownKeyRef.current = null;
  }, [candles, seriesKey]);

  // Span rectangles in data space; the primitive's view converts them on each frame.
  useEffect(() => {
    const boxes: SpanBox[] = [];
    for (const s of spans) {
      const range = dragged?.id === s.id ? dragged : spanIndexRange(times, s.start_time, s.end_time);
      if (!range) continue;
      boxes.push({ id: s.id, label: s.label, ...range, ...priceRange(candles, range), selected: s.id === selectedId });
    }
    const draftRange = draft ?? (pending ? spanIndexRange(times, pending.start_time, pending.end_time) : null);
    if (draftRange) boxes.push({ id: '__draft__', label: '', ...draftRange, ...priceRange(candles, draftRange), draft: true });
    rectanglesRef.current?.setSpans(boxes);
  }, [spans, candles, times, selectedId, draft, pending, dragged]);

  useEffect(() => {
    rectanglesRef.current?.applyOptions({ colorOf });
  }, [colorOf]);

  // The prediction overlay: what is drawn is computed here (and reported on the element for the
  // browser tests); the effects hand it to the layers.
  const shown = props.predictions?.visible ? props.predictions : null;
  const bars = useMemo(() => barData(shown?.bars, times), [shown?.bars, times]);
  const markers = useMemo(() => markerData(shown?.markers, times), [shown?.markers, times]);
  const highlights = useMemo(() => highlightData(shown?.highlights, times, candles), [shown?.highlights, times, candles]);

  useEffect(() => {
    layersRef.current?.setBars(bars.data);
  }, [bars]);

  useEffect(() => {
    const layers = layersRef.current;
    if (!layers) return;
    const timeScale = chartRef.current?.timeScale();
    layers.setMarkers(markers, timeScale?.getVisibleLogicalRange() ?? null, timeScale?.width());
    // Written straight to the element: it changes while panning, which must not re-render.
    if (containerRef.current) {
      containerRef.current.dataset.markerDetail = layers.markerDetail;
      containerRef.current.dataset.markerTexts = String(layers.markerTexts);
    }
  }, [markers]);

  useEffect(() => {
    layersRef.current?.setHighlights(highlights);
  }, [highlights]);

  useEffect(() => {
    chartRef.current?.timeScale().applyOptions({ fixLeftEdge: historyComplete });
  }, [historyComplete]);

  useImperativeHandle(
    ref,
    () => ({
      cancelSelection,
      showSpan(start: number, end: number) {
        const range = spanIndexRange(timesRef.current, start, end);
        const chart = chartRef.current;
        if (!range || !chart) return false;
        const room = Math.max(20, Math.round((range.to - range.from + 1) * 1.5));
        chart.timeScale().setVisibleLogicalRange({ from: range.from - room, to: range.to + room });
        return true;
      },
    }),
    [cancelSelection, timesRef],
  );

  return (
    <div className="chart-wrap">
      <div
        ref={containerRef}
        className={`chart ${mode === 'select' ? 'chart--select' : ''}`}
        data-testid="candle-chart"
        data-candles={candles.length}
        data-oldest={candles[0]?.time ?? ''}
        data-newest={candles[candles.length - 1]?.time ?? ''}
        data-prediction-bars={bars.data.length}
        data-prediction-markers={markers.length}
        data-prediction-labels={bars.labels}
        data-highlights={highlights.length}
        data-candle-colors={`${UP} ${DOWN}`}
      />
      <OhlcvReadout candle={hover ?? candles[candles.length - 1] ?? null} />
    </div>
  );
}
