/**
 * Pure span and time logic shared by the chart and the tests: turning what the pointer picked
 * into a span of candle times, finding the candles of a saved span, merging pages of history.
 * Nothing here touches the DOM or the chart.
 */
import type { Candle } from '@/types';

export interface IndexRange {
  /** Index of the first candle, inclusive. */
  from: number;
  /** Index of the last candle, inclusive. */
  to: number;
}

export interface SelectedSpan extends IndexRange {
  /** Time of the first candle, inclusive. */
  start_time: number;
  /** Time of the last candle, inclusive. */
  end_time: number;
}

/**
 * Snap a chart logical position (fractional bar index, as coordinateToLogical gives) to the
 * nearest bar: rounded, then clamped into [0, count - 1]. Null when there are no bars.
 */
export function snapToIndex(logical: number, count: number): number | null {
  if (count <= 0 || !Number.isFinite(logical)) return null;
  return Math.min(count - 1, Math.max(0, Math.round(logical)));
}

/**
 * The span between two picked positions, in either order (a drag to the left works as well as
 * one to the right), as candle indexes and the times of its first and last candle.
 */
export function selectionToSpan(a: number, b: number, times: readonly number[]): SelectedSpan | null {
  const ia = snapToIndex(a, times.length);
  const ib = snapToIndex(b, times.length);
  if (ia === null || ib === null) return null;
  const from = Math.min(ia, ib);
  const to = Math.max(ia, ib);
  return { from, to, start_time: times[from], end_time: times[to] };
}

/** First index whose time is >= t (times ascending); times.length when none. */
export function lowerBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] < t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index whose time is > t; times.length when none. */
export function upperBound(times: readonly number[], t: number): number {
  let lo = 0;
  let hi = times.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (times[mid] <= t) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * The loaded candles inside [start, end] (both inclusive): what the chart can draw of a span.
 * Null when none of them is loaded.
 */
export function spanIndexRange(times: readonly number[], start: number, end: number): IndexRange | null {
  const from = lowerBound(times, start);
  const to = upperBound(times, end) - 1;
  return from <= to ? { from, to } : null;
}

/** Index of the candle at exactly `time`, or null. */
export function indexOfTime(times: readonly number[], time: number): number | null {
  const i = lowerBound(times, time);
  return i < times.length && times[i] === time ? i : null;
}

/** The spans that contain `time`, the shortest first (the one drawn on top of the others). */
export function spansAt<T extends { start_time: number; end_time: number }>(spans: readonly T[], time: number): T[] {
  return spans
    .filter((s) => s.start_time <= time && time <= s.end_time)
    .sort((a, b) => a.end_time - a.start_time - (b.end_time - b.start_time));
}

/** Lowest low and highest high of candles[from..to]. */
export function priceRange(candles: readonly Candle[], range: IndexRange): { low: number; high: number } {
  let low = Infinity;
  let high = -Infinity;
  for (let i = range.from; i <= range.to; i++) {
    if (candles[i].low < low) low = candles[i].low;
    if (candles[i].high > high) high = candles[i].high;
  }
  return { low, high };
}

/**
 * Merge a page of candles into what is loaded: one candle per time (the newer page wins),
 * ascending. Pages overlap at their edges whether the service's `end` is inclusive or not.
 */
export function mergeCandles(loaded: readonly Candle[], page: readonly Candle[]): Candle[] {
  if (!page.length) return loaded.slice();
  const byTime = new Map<number, Candle>();
  for (const c of loaded) byTime.set(c.time, c);
  for (const c of page) byTime.set(c.time, c);
  return [...byTime.values()].sort((a, b) => a.time - b.time);
}

/** Decimals worth showing for a price level: 5 for EURUSD at 1.08, 2 for BTC at 40000. */
export function pricePrecision(price: number): number {
  const p = Math.abs(price);
  if (!Number.isFinite(p) || p === 0) return 2;
  if (p >= 1000) return 2;
  if (p >= 100) return 3;
  if (p >= 1) return 5;
  return Math.min(10, 5 + Math.max(0, Math.ceil(-Math.log10(p)) - 1));
}

const TIMEFRAME_SECONDS: Record<string, number> = {
  '1m': 60,
  '5m': 300,
  '15m': 900,
  '30m': 1800,
  '1h': 3600,
  '4h': 14_400,
  '1d': 86_400,
  '1w': 604_800,
};

export function timeframeSeconds(timeframe: string): number {
  return TIMEFRAME_SECONDS[timeframe] ?? 3600;
}

/** "2024-03-01 14:00 UTC". */
export function formatUtc(epochSeconds: number): string {
  return `${new Date(epochSeconds * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;
}
