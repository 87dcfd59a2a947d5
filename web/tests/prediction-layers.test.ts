/** What the chart's prediction layers draw: only at loaded candle times, counted per label. */
import { describe, expect, it } from 'vitest';
import { formatVolume } from '@/components/chart/OhlcvReadout';
import { barData, highlightData, markerData } from '@/components/chart/prediction-layers';
import { volumeColor } from '@/components/chart/theme';
import { isTyping } from '@/hooks/useKeyboardShortcuts';

const times = [100, 200, 300, 400];
const candles = times.map((time, i) => ({ time, open: 1, high: 2 + i, low: 0.5, close: 1.5, volume: 10 }));

describe('the prediction layers', () => {
  it('draw bars only at loaded candle times, counted by label', () => {
    const bars = [
      { time: 50, label: 'x', color: 'c' },
      { time: 200, label: 'x', color: 'c' },
      { time: 250, label: 'x', color: 'c' },
      { time: 300, label: 'y', color: 'd' },
    ];
    const { data, labels } = barData(bars, times);
    expect(data).toEqual([
      { time: 200, value: 1, color: 'c' },
      { time: 300, value: 1, color: 'd' },
    ]);
    expect(JSON.parse(labels)).toEqual({ x: 1, y: 1 });
    expect(barData(undefined, times)).toEqual({ data: [], labels: '{}' });
    expect(barData(bars, [])).toEqual({ data: [], labels: '{}' });
  });

  it('place markers below the candle where a span starts, with its index', () => {
    const list = markerData([{ time: 300, label: 'x', text: 'x (90%)', color: '#fff' }, { time: 350, label: 'x', text: '', color: '' }], times);
    expect(list).toEqual([
      { index: 2, marker: { time: 300, position: 'belowBar', shape: 'arrowUp', color: '#fff', text: 'x (90%)', size: 1 } },
    ]);
  });

  it('box the disagreements over the loaded candles', () => {
    const h = { id: 'd', kind: 'missed_by_human', start_time: 200, end_time: 300 } as never;
    expect(highlightData([h], times, candles)).toEqual([{ id: 'd', kind: 'missed_by_human', from: 1, to: 2, low: 0.5, high: 4 }]);
    expect(highlightData([{ ...(h as object), start_time: 900, end_time: 990 } as never], times, candles)).toEqual([]);
  });
});

describe('chart details', () => {
  it('formats the readout volume and colours volume bars by direction', () => {
    expect(formatVolume(1_234_567)).toBe('1.23M');
    expect(formatVolume(12)).toBe('12');
    expect(formatVolume(2.5)).toBe('2.50');
    expect(volumeColor({ open: 1, close: 2 })).toBe('rgba(209, 212, 220, 0.3)'); // CANDLE_UP, lib/labels.ts
    expect(volumeColor({ open: 2, close: 1 })).toBe('rgba(74, 79, 92, 0.5)'); // CANDLE_DOWN
  });

  it('Delete is a shortcut only outside text fields', () => {
    expect(isTyping(null)).toBe(false);
    expect(isTyping({ tagName: 'INPUT', isContentEditable: false } as never)).toBe(true);
    expect(isTyping({ tagName: 'DIV', isContentEditable: true } as never)).toBe(true);
    expect(isTyping({ tagName: 'BUTTON', isContentEditable: false } as never)).toBe(false);
  });
});
