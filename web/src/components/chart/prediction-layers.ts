/**
 * The prediction overlay's layers on the chart, given as plain data (lib/predictions/overlay.ts):
 *
 * - bars: a histogram series on a hidden full-height scale, one translucent bar per predicted
 *   candle, added before the candles so it is drawn behind them;
 * - markers: "label (confidence%)" below the candle where a predicted span starts
 *   (createSeriesMarkers), windowed around the view by MarkerWindow;
 * - highlights: the disagreements, as a series primitive (DisagreementHighlights).
 *
 * Only times of loaded candles are drawn (others would add bars to the time scale). The pure
 * `*Data` functions say what is drawn, so the chart can report it without drawing twice.
 */
import {
  createSeriesMarkers,
  HistogramSeries,
  type HistogramData,
  type IChartApi,
  type ISeriesApi,
  type ISeriesMarkersPluginApi,
  type Logical,
  type LogicalRange,
  type SeriesMarker,
  type Time,
  type UTCTimestamp,
} from 'lightweight-charts';
import { indexOfTime, priceRange, spanIndexRange } from '@/lib/spans';
import type { OverlayBar, OverlayMarker } from '@/lib/predictions/overlay';
import type { Candle } from '@/types';
import type { Disagreement } from '@/types/predictions';
import { DisagreementHighlights, type HighlightBox } from './disagreement-highlights';
import { MarkerWindow, type IndexedMarker } from './marker-window';

const PREDICTIONS_SCALE_ID = 'predictions';

/** The bars at loaded candle times, and how many of each label (for the browser test). */
export function barData(bars: readonly OverlayBar[] | undefined, times: readonly number[]) {
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
  return { data, labels: JSON.stringify(byLabel) };
}

/** The markers at loaded candle times, with their candle index. */
export function markerData(markers: readonly OverlayMarker[] | undefined, times: readonly number[]): IndexedMarker[] {
  const list: IndexedMarker[] = [];
  for (const m of markers ?? []) {
    const index = indexOfTime(times, m.time);
    if (index === null) continue;
    const marker: SeriesMarker<Time> = { time: m.time as UTCTimestamp, position: 'belowBar', shape: 'arrowUp', color: m.color, text: m.text, size: 1 };
    list.push({ index, marker });
  }
  return list;
}

/** The disagreements over loaded candles, as boxes in data space. */
export function highlightData(
  highlights: readonly Disagreement[] | undefined,
  times: readonly number[],
  candles: readonly Candle[],
): HighlightBox[] {
  const boxes: HighlightBox[] = [];
  for (const h of highlights ?? []) {
    const range = spanIndexRange(times, h.start_time, h.end_time);
    if (range) boxes.push({ id: h.id, kind: h.kind, ...range, ...priceRange(candles, range) });
  }
  return boxes;
}

export class PredictionLayers {
  private readonly bars: ISeriesApi<'Histogram'>;
  private readonly highlights = new DisagreementHighlights();
  private markersPlugin: ISeriesMarkersPluginApi<Time> | null = null;
  private markers: MarkerWindow | null = null;

  /** Adds the bar series: create the layers before the candle series, so the bars are behind the candles. */
  constructor(chart: IChartApi) {
    this.bars = chart.addSeries(HistogramSeries, {
      priceScaleId: PREDICTIONS_SCALE_ID,
      lastValueVisible: false,
      priceLineVisible: false,
      base: 0,
      autoscaleInfoProvider: () => ({ priceRange: { minValue: 0, maxValue: 1 } }),
    });
    chart.priceScale(PREDICTIONS_SCALE_ID).applyOptions({ scaleMargins: { top: 0, bottom: 0 }, visible: false });
  }

  /** Markers and highlights go on the candle series (after the span rectangles are attached). */
  attach(candleSeries: ISeriesApi<'Candlestick'>): void {
    candleSeries.attachPrimitive(this.highlights);
    this.markersPlugin = createSeriesMarkers(candleSeries, [], { autoScale: true });
    this.markers = new MarkerWindow(this.markersPlugin);
  }

  detach(): void {
    this.markersPlugin?.detach();
    this.markersPlugin = null;
    this.markers = null;
  }

  /** Set as a whole: setData of 50k bars takes a few milliseconds, once per change. */
  setBars(data: HistogramData[]): void {
    this.bars.setData(data);
  }

  /** `widthPx`: the time scale's width, for the marker text thinning. */
  setMarkers(list: IndexedMarker[], view: LogicalRange | null, widthPx?: number): void {
    this.markers?.setMarkers(list, view, widthPx);
  }

  setHighlights(boxes: readonly HighlightBox[]): void {
    this.highlights.setBoxes(boxes);
  }

  /** The view moved: re-window the markers. True when the markers given to the plugin changed. */
  viewChanged(range: LogicalRange | null, widthPx?: number): boolean {
    return this.markers?.update(range, widthPx) ?? false;
  }

  /** Markers last given their text (for the browser test). */
  get markerTexts(): number {
    return this.markers?.textCount ?? 0;
  }

  /** What the markers plugin was last given ('text', 'arrows', 'none'), for the browser test. */
  get markerDetail(): string {
    return this.markers?.detail ?? '';
  }

  /**
   * The marker texts drawn in the view, as the markers plugin lays them out: centred on the
   * marker's candle, as wide as the canvas measures them in the chart's font. Horizontal extent
   * in CSS pixels of the pane, sorted by `left` (for the browser test: no two overlap).
   */
  markerTextBoxes(chart: IChartApi): { text: string; left: number; right: number }[] {
    const { fontSize, fontFamily } = chart.options().layout;
    const ctx = document.createElement('canvas').getContext('2d');
    if (!ctx) return [];
    ctx.font = `${fontSize}px ${fontFamily}`;
    const timeScale = chart.timeScale();
    const width = timeScale.width();
    const boxes: { text: string; left: number; right: number }[] = [];
    for (const m of this.markers?.withText ?? []) {
      const x = timeScale.logicalToCoordinate(m.index as Logical);
      const text = m.marker.text ?? '';
      if (x === null || x < 0 || x > width || !text) continue;
      const w = ctx.measureText(text).width;
      boxes.push({ text, left: x - w / 2, right: x + w / 2 });
    }
    return boxes.sort((a, b) => a.left - b.left);
  }

  /** The disagreement highlights drawn in the view (CSS pixels of the pane), for the browser test. */
  highlightBoxes() {
    return this.highlights.drawnBoxes();
  }

  /** The clickable highlight at a point of the pane, if any. */
  highlightAt(x: number, y: number): string | null {
    return this.highlights.highlightAt(x, y);
  }
}
