/**
 * What the chart draws of a prediction result, as plain data: one bar per predicted candle,
 * one marker where each predicted span starts, and the disagreement highlights. The
 * confidence threshold and the label filter apply to bars and markers alike; "show only
 * disagreements" keeps the bars and markers of the predictions that disagree with the
 * annotators.
 *
 * Two layers (lib/labels.ts `labelLayer`): chart patterns, compared with the annotators' spans,
 * and candlestick patterns (TA-Lib CDL labels: one or two candles, hundreds per chart), drawn
 * only when their layer is on and never a disagreement: a candle pattern inside a flag is not
 * a label mismatch, and an unannotated doji is not "not annotated". Pure (tests/prediction-overlay.test.ts); the chart only converts and paints.
 */
import { NEGATIVE_LABEL } from '@/lib/constants';
import { isCandlestickLabel, withAlpha } from '@/lib/labels';
import type {
  DisagreementReport,
  HumanSpan,
  PredictedCandle,
  PredictionResult,
  PredictionSpan,
} from '@/types/predictions';
import { findDisagreements } from './disagreements';

export interface OverlayFilter {
  /** Minimum confidence, 0..1 (inclusive). */
  threshold: number;
  /** Labels shown; null: all. */
  selectedLabels: ReadonlySet<string> | null;
  /** The candlestick-pattern layer is drawn (default: off). */
  showCandlestick?: boolean;
}

export interface OverlayBar {
  time: number;
  label: string;
  /** The label's colour at the bar opacity. */
  color: string;
}

export interface OverlayMarker {
  time: number;
  label: string;
  /** "bull_flag (87%)". */
  text: string;
  color: string;
}

export interface PredictionOverlay {
  bars: OverlayBar[];
  markers: OverlayMarker[];
  report: DisagreementReport;
  /** Bars per label, for the panel and the browser test. */
  barsByLabel: Record<string, number>;
  /** Candlestick-pattern spans over the threshold (drawn or not), for the panel. */
  candlestickSpans: number;
}

export const BAR_OPACITY = 0.15;

export function isLabelShown(label: string, selected: ReadonlySet<string> | null): boolean {
  return selected === null || selected.has(label);
}

/** Whether a label is drawn: its layer is on and the label is ticked. */
export function isDrawn(label: string, filter: OverlayFilter): boolean {
  return (filter.showCandlestick || !isCandlestickLabel(label)) && isLabelShown(label, filter.selectedLabels);
}

export function filterSpans(spans: readonly PredictionSpan[], filter: OverlayFilter): PredictionSpan[] {
  return spans.filter((s) => s.confidence >= filter.threshold && isDrawn(s.label, filter));
}

export function filterCandles(candles: readonly PredictedCandle[], filter: OverlayFilter): PredictedCandle[] {
  return candles.filter((c) => c.confidence >= filter.threshold && isDrawn(c.label, filter));
}

/** The candles (ascending by time) that lie inside one of `spans` and carry its label. */
export function candlesInSpans(candles: readonly PredictedCandle[], spans: readonly PredictionSpan[]): PredictedCandle[] {
  const sorted = [...spans].sort((a, b) => a.start_time - b.start_time);
  const out: PredictedCandle[] = [];
  let i = 0;
  for (const s of sorted) {
    while (i < candles.length && candles[i].time < s.start_time) i++;
    for (let j = i; j < candles.length && candles[j].time <= s.end_time; j++) {
      if (candles[j].label === s.label) out.push(candles[j]);
    }
  }
  return out;
}

/** "87%" of a 0..1 confidence, rounded down so 0.999 never shows as 100%. */
export function percent(confidence: number): string {
  return `${Math.floor(confidence * 100)}%`;
}

export function buildOverlay(options: {
  result: PredictionResult | null;
  /** The annotators' spans of the shown partition (positive and negative). */
  human: readonly HumanSpan[];
  filter: OverlayFilter;
  showOnlyDisagreements: boolean;
  colorOf: (label: string) => string;
}): PredictionOverlay {
  const { result, filter, colorOf } = options;
  const spans = result ? filterSpans(result.spans, filter) : [];
  const chartSpans = spans.filter((s) => !isCandlestickLabel(s.label));
  const candlestickSpans = result
    ? result.spans.filter((s) => isCandlestickLabel(s.label) && s.confidence >= filter.threshold).length
    : 0;
  // A hidden label is left out on both sides: its human spans are not "missed by the model".
  const human = result
    ? options.human.filter(
        (h) =>
          h.pair === result.pair &&
          h.timeframe === result.timeframe &&
          (h.label === NEGATIVE_LABEL || (!isCandlestickLabel(h.label) && isLabelShown(h.label, filter.selectedLabels))),
      )
    : [];
  // Only where the model looked: a human span outside the predicted range is not "missed".
  const ranges = result ? [{ pair: result.pair, timeframe: result.timeframe, start: result.start, end: result.end }] : [];
  const report = findDisagreements(human, chartSpans, ranges);
  if (!result) return { bars: [], markers: [], report, barsByLabel: {}, candlestickSpans };

  let drawnSpans = spans;
  let candles = filterCandles(result.candles, filter);
  if (options.showOnlyDisagreements) {
    const disputed = new Set(report.disagreements.map((d) => d.prediction?.id).filter(Boolean));
    drawnSpans = spans.filter((s) => disputed.has(s.id));
    candles = candlesInSpans(candles, drawnSpans);
  }

  const barColor = new Map<string, string>();
  const barsByLabel: Record<string, number> = {};
  const bars = candles.map((c) => {
    let color = barColor.get(c.label);
    if (!color) barColor.set(c.label, (color = withAlpha(colorOf(c.label), BAR_OPACITY)));
    barsByLabel[c.label] = (barsByLabel[c.label] ?? 0) + 1;
    return { time: c.time, label: c.label, color };
  });
  const markers = drawnSpans.map((s) => ({
    time: s.start_time,
    label: s.label,
    text: `${s.label} (${percent(s.confidence)})`,
    color: colorOf(s.label),
  }));
  return { bars, markers, report, barsByLabel, candlestickSpans };
}
