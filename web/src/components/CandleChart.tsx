'use client';

/**
 * The candle chart: candles and volume from the loaded history, saved spans as rectangles
 * behind the candles, span selection (drag across bars, or click the first and the last), a
 * crosshair readout of OHLCV, and a callback when the view nears the oldest loaded candle.
 *
 * The prediction overlay (given as plain data, lib/predictions/overlay.ts) is drawn on the same
 * chart: a histogram series on a hidden full-height scale, one translucent bar per predicted
 * candle behind the candles; markers "label (confidence%)" below the candle where a predicted
 * span starts (createSeriesMarkers); disagreement highlights as a series primitive.
 *
 * Lifecycle as in lightweight-charts' React tutorial: the chart is created once in an effect
 * from a ref and removed on cleanup; data changes go to the existing series.
 */
import {
  CandlestickSeries,
  ColorType,
  createChart,
  createSeriesMarkers,
  CrosshairMode,
  HistogramSeries,
  type ISeriesMarkersPluginApi,
  type SeriesMarker,
  type Time,
  type CandlestickData,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type LogicalRange,
  type MouseEventParams,
  type UTCTimestamp,
} from 'lightweight-charts';
import { useEffect, useImperativeHandle, useMemo, useRef, useState, type Ref } from 'react';
import {
  formatUtc,
  indexOfTime,
  priceRange,
  pricePrecision,
  selectionToSpan,
  snapToIndex,
  spanIndexRange,
  type IndexRange,
  type SelectedSpan,
} from '@/lib/spans';
import type { OverlayBar, OverlayMarker } from '@/lib/predictions/overlay';
import type { Candle, SpanAnnotation } from '@/types';
import type { Disagreement } from '@/types/predictions';
import { DisagreementHighlights, type HighlightBox } from './chart/disagreement-highlights';
import { MarkerWindow, type IndexedMarker } from './chart/marker-window';
import { SpanRectangles, type SpanBox } from './chart/span-rectangles';

export type ChartMode = 'pan' | 'select';

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
  /** The visible range changed (logical indexes into `candles`; fractional, may run past the ends). */
  onViewChange?: (range: IndexRange | null) => void;
}

const VISIBLE_BARS_ON_OPEN = 150;
const UP = '#26a69a';
const DOWN = '#ef5350';

export function CandleChart(props: CandleChartProps) {
  const { ref, candles, seriesKey, spans, colorOf, selectedId, pending, mode, historyComplete } = props;
  const containerRef = useRef<HTMLDivElement>(null);
  const chartRef = useRef<IChartApi | null>(null);
  const candleSeriesRef = useRef<ISeriesApi<'Candlestick'> | null>(null);
  const volumeSeriesRef = useRef<ISeriesApi<'Histogram'> | null>(null);
  const rectanglesRef = useRef<SpanRectangles | null>(null);
  const predictionSeriesRef = useRef<ISeriesApi<'Histogram'> | null>(null);
  const markersRef = useRef<MarkerWindow | null>(null);
  const highlightsRef = useRef<DisagreementHighlights | null>(null);
  const shownKeyRef = useRef<string | null>(null);
  const [drawn, setDrawn] = useState({ bars: 0, markers: 0, highlights: 0, labels: '{}' });

  // Latest props for handlers subscribed once.
  const latest = useRef(props);
  latest.current = props;
  const times = useMemo(() => candles.map((c) => c.time), [candles]);
  const timesRef = useRef(times);
  timesRef.current = times;

  // Selection in progress: anchor of a first click, the drag, and the draft drawn.
  const selection = useRef<{ clickAnchor: number | null; drag: { anchor: number; startX: number; moved: boolean } | null }>({
    clickAnchor: null,
    drag: null,
  });
  const [draft, setDraft] = useState<IndexRange | null>(null);
  const [hover, setHover] = useState<Candle | null>(null);

  // Create the chart once.
  useEffect(() => {
    const container = containerRef.current!;
    const chart = createChart(container, {
      autoSize: true,
      layout: {
        background: { type: ColorType.Solid, color: '#131722' },
        textColor: '#b2b5be',
        fontFamily: 'system-ui, sans-serif',
        attributionLogo: true,
      },
      grid: { vertLines: { color: '#1e222d' }, horzLines: { color: '#1e222d' } },
      crosshair: { mode: CrosshairMode.Normal },
      rightPriceScale: { borderColor: '#2a2e39' },
      timeScale: { borderColor: '#2a2e39', timeVisible: true, secondsVisible: false, rightOffset: 5 },
    });
    // Added first, so its bars are drawn behind the candles; a full-height scale of its own.
    const predictionSeries = chart.addSeries(HistogramSeries, {
      priceScaleId: 'predictions',
      lastValueVisible: false,
      priceLineVisible: false,
      base: 0,
      autoscaleInfoProvider: () => ({ priceRange: { minValue: 0, maxValue: 1 } }),
    });
    chart.priceScale('predictions').applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });
    const candleSeries = chart.addSeries(CandlestickSeries, {
      upColor: UP,
      downColor: DOWN,
      wickUpColor: UP,
      wickDownColor: DOWN,
      borderVisible: false,
    });
    const volumeSeries = chart.addSeries(HistogramSeries, {
      priceScaleId: 'volume',
      priceFormat: { type: 'volume' },
      lastValueVisible: false,
      priceLineVisible: false,
    });
    chart.priceScale('volume').applyOptions({ scaleMargins: { top: 0.82, bottom: 0 } });
    candleSeries.priceScale().applyOptions({ scaleMargins: { top: 0.06, bottom: 0.2 } });
    const rectangles = new SpanRectangles({ colorOf: latest.current.colorOf });
    candleSeries.attachPrimitive(rectangles);
    const highlights = new DisagreementHighlights();
    candleSeries.attachPrimitive(highlights);
    const markersPlugin: ISeriesMarkersPluginApi<Time> = createSeriesMarkers(candleSeries, [], { autoScale: true });
    const markers = new MarkerWindow(markersPlugin);

    chartRef.current = chart;
    candleSeriesRef.current = candleSeries;
    volumeSeriesRef.current = volumeSeries;
    rectanglesRef.current = rectangles;
    predictionSeriesRef.current = predictionSeries;
    markersRef.current = markers;
    highlightsRef.current = highlights;

    const onCrosshairMove = (param: MouseEventParams) => {
      const bar = param.time === undefined ? undefined : (param.seriesData.get(candleSeries) as CandlestickData | undefined);
      if (!bar) return setHover(null);
      const vol = param.seriesData.get(volumeSeries) as HistogramData | undefined;
      setHover({ time: Number(bar.time), open: bar.open, high: bar.high, low: bar.low, close: bar.close, volume: vol?.value ?? 0 });
    };
    const onClick = (param: MouseEventParams) => {
      if (latest.current.mode !== 'pan' || !param.point) return;
      // A saved span first (it can be edited), then a prediction to review.
      const spanId = rectangles.spanAt(param.point.x, param.point.y);
      const highlightId = spanId ? null : highlights.highlightAt(param.point.x, param.point.y);
      if (highlightId && latest.current.onDisagreementClick) latest.current.onDisagreementClick(highlightId);
      else latest.current.onSpanClick(spanId);
    };
    const onRange = (range: LogicalRange | null) => {
      if (markers.update(range)) container.dataset.markerDetail = markers.detail ?? '';
      latest.current.onViewChange?.(range ? { from: range.from, to: range.to } : null);
      if (range && timesRef.current.length && range.from < Math.max(100, 2 * (range.to - range.from))) latest.current.onNearOldest();
    };
    chart.subscribeCrosshairMove(onCrosshairMove);
    chart.subscribeClick(onClick);
    chart.timeScale().subscribeVisibleLogicalRangeChange(onRange);

    return () => {
      chart.unsubscribeCrosshairMove(onCrosshairMove);
      chart.unsubscribeClick(onClick);
      chart.timeScale().unsubscribeVisibleLogicalRangeChange(onRange);
      markersPlugin.detach();
      chart.remove();
      chartRef.current = null;
      candleSeriesRef.current = null;
      volumeSeriesRef.current = null;
      rectanglesRef.current = null;
      predictionSeriesRef.current = null;
      markersRef.current = null;
      highlightsRef.current = null;
      shownKeyRef.current = null;
    };
  }, []);

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
    volumeSeries.setData(
      candles.map((c) => ({
        time: c.time as UTCTimestamp,
        value: c.volume,
        color: c.close >= c.open ? 'rgba(38, 166, 154, 0.35)' : 'rgba(239, 83, 80, 0.35)',
      })),
    );
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
      const range = spanIndexRange(times, s.start_time, s.end_time);
      if (!range) continue;
      boxes.push({ id: s.id, label: s.label, ...range, ...priceRange(candles, range), selected: s.id === selectedId });
    }
    const draftRange = draft ?? (pending ? spanIndexRange(times, pending.start_time, pending.end_time) : null);
    if (draftRange) boxes.push({ id: '__draft__', label: '', ...draftRange, ...priceRange(candles, draftRange), draft: true });
    rectanglesRef.current?.setSpans(boxes);
  }, [spans, candles, times, selectedId, draft, pending]);

  useEffect(() => {
    rectanglesRef.current?.applyOptions({ colorOf });
  }, [colorOf]);

  // Prediction bars and markers: only at times of loaded candles (others would add bars to the
  // time scale). Set as a whole: setData of 50k bars takes a few milliseconds, once per change.
  const predictions = props.predictions ?? null;
  const shown = predictions?.visible ? predictions : null;
  const bars = shown?.bars;
  const markerList = shown?.markers;
  const highlightList = shown?.highlights;
  useEffect(() => {
    const series = predictionSeriesRef.current;
    if (!series) return;
    const data: HistogramData[] = [];
    const byLabel: Record<string, number> = {};
    if (bars && times.length) {
      const first = times[0];
      const last = times[times.length - 1];
      for (const b of bars) {
        if (b.time < first || b.time > last || indexOfTime(times, b.time) === null) continue;
        data.push({ time: b.time as UTCTimestamp, value: 1, color: b.color });
        byLabel[b.label] = (byLabel[b.label] ?? 0) + 1;
      }
    }
    series.setData(data);
    setDrawn((d) => ({ ...d, bars: data.length, labels: JSON.stringify(byLabel) }));
  }, [bars, times]);

  useEffect(() => {
    const markers = markersRef.current;
    if (!markers) return;
    const list: IndexedMarker[] = [];
    for (const m of markerList ?? []) {
      const index = indexOfTime(times, m.time);
      if (index === null) continue;
      const marker: SeriesMarker<Time> = { time: m.time as UTCTimestamp, position: 'belowBar', shape: 'arrowUp', color: m.color, text: m.text, size: 1 };
      list.push({ index, marker });
    }
    markers.setMarkers(list, chartRef.current?.timeScale().getVisibleLogicalRange() ?? null);
    // Written straight to the element: it changes while panning, which must not re-render.
    if (containerRef.current) containerRef.current.dataset.markerDetail = markers.detail ?? '';
    setDrawn((d) => ({ ...d, markers: list.length }));
  }, [markerList, times]);

  useEffect(() => {
    const boxes: HighlightBox[] = [];
    for (const h of highlightList ?? []) {
      const range = spanIndexRange(times, h.start_time, h.end_time);
      if (range) boxes.push({ id: h.id, kind: h.kind, ...range, ...priceRange(candles, range) });
    }
    highlightsRef.current?.setBoxes(boxes);
    setDrawn((d) => ({ ...d, highlights: boxes.length }));
  }, [highlightList, times, candles]);

  useEffect(() => {
    chartRef.current?.timeScale().applyOptions({ fixLeftEdge: historyComplete });
  }, [historyComplete]);

  // Select mode: the pointer marks spans, so dragging must not pan (wheel zoom and scroll stay).
  useEffect(() => {
    chartRef.current?.applyOptions({ handleScroll: { pressedMouseMove: mode === 'pan' } });
    if (mode === 'pan') {
      selection.current = { clickAnchor: null, drag: null };
      setDraft(null);
    }
  }, [mode]);

  // Pointer handling for selections.
  useEffect(() => {
    const container = containerRef.current!;
    /** The bar under the pointer, or null outside the candle pane. */
    const barAt = (e: PointerEvent): { index: number; x: number } | null => {
      const chart = chartRef.current;
      if (!chart) return null;
      const rect = container.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const pane = chart.paneSize(0);
      if (x < 0 || y < 0 || x > pane.width || y > pane.height) return null;
      const logical = chart.timeScale().coordinateToLogical(x);
      const index = logical === null ? null : snapToIndex(logical, timesRef.current.length);
      return index === null ? null : { index, x };
    };
    const show = (a: number, b: number) => setDraft({ from: Math.min(a, b), to: Math.max(a, b) });
    const complete = (a: number, b: number) => {
      selection.current = { clickAnchor: null, drag: null };
      setDraft(null);
      const span = selectionToSpan(a, b, timesRef.current);
      if (span) latest.current.onSelect(span);
    };
    const onDown = (e: PointerEvent) => {
      if (latest.current.mode !== 'select' || e.button !== 0) return;
      const bar = barAt(e);
      if (!bar) return;
      const s = selection.current;
      s.drag = { anchor: s.clickAnchor ?? bar.index, startX: bar.x, moved: false };
      if (s.clickAnchor === null) show(bar.index, bar.index);
    };
    const onMove = (e: PointerEvent) => {
      if (latest.current.mode !== 'select') return;
      const bar = barAt(e);
      if (!bar) return;
      const s = selection.current;
      if (s.drag) {
        if (Math.abs(bar.x - s.drag.startX) > 4) s.drag.moved = true;
        show(s.drag.anchor, bar.index);
      } else if (s.clickAnchor !== null) {
        show(s.clickAnchor, bar.index);
      }
    };
    const onUp = (e: PointerEvent) => {
      const s = selection.current;
      if (latest.current.mode !== 'select' || !s.drag) return;
      const drag = s.drag;
      s.drag = null;
      const bar = barAt(e);
      const index = bar?.index ?? drag.anchor;
      if (drag.moved) complete(drag.anchor, index);
      else if (s.clickAnchor === null) {
        s.clickAnchor = index;
        show(index, index);
      } else complete(s.clickAnchor, index);
    };
    container.addEventListener('pointerdown', onDown, { capture: true });
    container.addEventListener('pointermove', onMove, { capture: true });
    window.addEventListener('pointerup', onUp, { capture: true });
    return () => {
      container.removeEventListener('pointerdown', onDown, { capture: true });
      container.removeEventListener('pointermove', onMove, { capture: true });
      window.removeEventListener('pointerup', onUp, { capture: true });
    };
  }, []);

  useImperativeHandle(
    ref,
    () => ({
      cancelSelection() {
        selection.current = { clickAnchor: null, drag: null };
        setDraft(null);
      },
      showSpan(start: number, end: number) {
        const range = spanIndexRange(timesRef.current, start, end);
        const chart = chartRef.current;
        if (!range || !chart) return false;
        const room = Math.max(20, Math.round((range.to - range.from + 1) * 1.5));
        chart.timeScale().setVisibleLogicalRange({ from: range.from - room, to: range.to + room });
        return true;
      },
    }),
    [],
  );

  const readoutCandle = hover ?? candles[candles.length - 1] ?? null;
  const precision = readoutCandle ? pricePrecision(readoutCandle.close) : 2;
  return (
    <div className="chart-wrap">
      <div
        ref={containerRef}
        className={`chart ${mode === 'select' ? 'chart--select' : ''}`}
        data-testid="candle-chart"
        data-candles={candles.length}
        data-oldest={candles[0]?.time ?? ''}
        data-newest={candles[candles.length - 1]?.time ?? ''}
        data-prediction-bars={drawn.bars}
        data-prediction-markers={drawn.markers}
        data-prediction-labels={drawn.labels}
        data-highlights={drawn.highlights}
      />
      {readoutCandle && (
        <div className="readout" data-testid="ohlcv-readout">
          <span className="readout__time">{formatUtc(readoutCandle.time)}</span>
          <span>O <b>{readoutCandle.open.toFixed(precision)}</b></span>
          <span>H <b>{readoutCandle.high.toFixed(precision)}</b></span>
          <span>L <b>{readoutCandle.low.toFixed(precision)}</b></span>
          <span className={readoutCandle.close >= readoutCandle.open ? 'up' : 'down'}>
            C <b>{readoutCandle.close.toFixed(precision)}</b>
          </span>
          <span>V <b>{formatVolume(readoutCandle.volume)}</b></span>
        </div>
      )}
    </div>
  );
}

function formatVolume(v: number): string {
  if (v >= 1e9) return `${(v / 1e9).toFixed(2)}B`;
  if (v >= 1e6) return `${(v / 1e6).toFixed(2)}M`;
  if (v >= 1e3) return `${(v / 1e3).toFixed(2)}K`;
  return v.toFixed(v % 1 ? 2 : 0);
}
