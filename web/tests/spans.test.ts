import { describe, expect, it } from 'vitest';
import {
  indexOfTime,
  mergeCandles,
  pricePrecision,
  priceRange,
  selectionToSpan,
  snapToIndex,
  spanIndexRange,
  spansAt,
} from '@/lib/spans';
import type { Candle } from '@/types';

const H = 3600;
const times = [0, 1, 2, 3, 4, 5].map((i) => 1_700_000_000 + i * H);
const candle = (time: number, low = 1, high = 2): Candle => ({ time, open: low, high, low, close: high, volume: 1 });

describe('snapping', () => {
  it('rounds a logical position to the nearest bar and clamps it to the data', () => {
    expect(snapToIndex(2.49, 6)).toBe(2);
    expect(snapToIndex(2.5, 6)).toBe(3);
    expect(snapToIndex(-7.2, 6)).toBe(0);
    expect(snapToIndex(99, 6)).toBe(5);
    expect(snapToIndex(1, 0)).toBeNull();
    expect(snapToIndex(Number.NaN, 6)).toBeNull();
  });
});

describe('selection to span', () => {
  it('gives the times of the first and last candle, inclusive, in either drag direction', () => {
    const right = selectionToSpan(1.2, 3.7, times);
    const left = selectionToSpan(3.7, 1.2, times);
    expect(right).toEqual({ from: 1, to: 4, start_time: times[1], end_time: times[4] });
    expect(left).toEqual(right);
  });

  it('makes a one-candle span from two clicks on the same bar', () => {
    expect(selectionToSpan(2, 2.3, times)).toEqual({ from: 2, to: 2, start_time: times[2], end_time: times[2] });
  });

  it('clamps a drag that leaves the data', () => {
    expect(selectionToSpan(-10, 40, times)).toMatchObject({ start_time: times[0], end_time: times[5] });
    expect(selectionToSpan(0, 1, [])).toBeNull();
  });
});

describe('spans over loaded candles', () => {
  it('finds the loaded candles of a span, inclusive at both ends', () => {
    expect(spanIndexRange(times, times[1], times[3])).toEqual({ from: 1, to: 3 });
    expect(spanIndexRange(times, times[1] - 10, times[3] + 10)).toEqual({ from: 1, to: 3 });
    expect(spanIndexRange(times, times[0] - 10 * H, times[1])).toEqual({ from: 0, to: 1 });
    expect(spanIndexRange(times, times[5] + H, times[5] + 9 * H)).toBeNull();
    expect(indexOfTime(times, times[4])).toBe(4);
    expect(indexOfTime(times, times[4] + 1)).toBeNull();
  });

  it('picks the shortest span under a time first', () => {
    const spans = [
      { id: 'long', start_time: times[0], end_time: times[5] },
      { id: 'short', start_time: times[2], end_time: times[3] },
    ];
    expect(spansAt(spans, times[2]).map((s) => s.id)).toEqual(['short', 'long']);
    expect(spansAt(spans, times[5]).map((s) => s.id)).toEqual(['long']);
  });

  it('computes the price box of a span', () => {
    const cs = [candle(times[0], 1, 3), candle(times[1], 0.5, 2), candle(times[2], 2, 9)];
    expect(priceRange(cs, { from: 0, to: 1 })).toEqual({ low: 0.5, high: 3 });
  });
});

describe('history paging', () => {
  it('merges overlapping pages into one ascending series without duplicates', () => {
    const loaded = times.slice(3).map((t) => candle(t));
    const older = times.slice(0, 4).map((t) => candle(t, 5, 6));
    const merged = mergeCandles(loaded, older);
    expect(merged.map((c) => c.time)).toEqual(times);
    expect(merged[3].low).toBe(5);
    expect(mergeCandles(loaded, [])).toEqual(loaded);
  });

  it('shows enough decimals for the price level', () => {
    expect(pricePrecision(1.0834)).toBe(5);
    expect(pricePrecision(43000)).toBe(2);
    expect(pricePrecision(150.2)).toBe(3);
    expect(pricePrecision(0.85)).toBe(5);
    expect(pricePrecision(0.00012)).toBe(8);
  });
});
