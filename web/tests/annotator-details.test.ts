/** Pure pieces of issue 16's findings 7, 10 and the re-run after a new model version. */
import { describe, expect, it } from 'vitest';
import { parseTimeField, timeField } from '@/components/AnnotationDialog';
import { planRequest } from '@/lib/predictions/plan';
import { formatTrainedAt, spanMetrics } from '@/lib/predictions/model-info';
import { undoKey } from '@/hooks/useKeyboardShortcuts';
import type { Candle } from '@/types';
import type { LoadedModelInfo } from '@/types/predictions';

const candles: Candle[] = Array.from({ length: 100 }, (_, i) => ({ time: 3600 * (i + 1), open: 1, high: 2, low: 0.5, close: 1.5, volume: 1 }));

describe('the dialog time fields', () => {
  it('show UTC minutes and read them back', () => {
    expect(timeField(1458871200)).toBe('2016-03-25 02:00');
    expect(parseTimeField('2016-03-25 02:00')).toBe(1458871200);
    expect(parseTimeField('2016-03-25T02:00:00Z')).toBe(1458871200);
    expect(parseTimeField(' 2016-03-25 02:00 UTC ')).toBe(1458871200);
    expect(parseTimeField('25/03/2016')).toBeNull();
    expect(parseTimeField('2016-13-45 99:99')).toBeNull();
  });
});

describe('the model panel', () => {
  it('formats the training time to minutes, UTC; keeps text that is no time', () => {
    expect(formatTrainedAt('2026-11-29T03:21:16.123456+00:00')).toBe('2026-11-29 03:21 UTC');
    expect(formatTrainedAt('2026-11-29T03:21:16.123456')).toBe('2026-11-29 03:21 UTC');
    expect(formatTrainedAt('yesterday')).toBe('yesterday');
    expect(formatTrainedAt(null)).toBe('at an unknown time');
  });

  it('reads the span-level F1 of the test split', () => {
    const model = { metrics: { test: { span_f1: 0.82, true_spans: 220 } } } as unknown as LoadedModelInfo;
    expect(spanMetrics(model)).toEqual({ f1: 0.82, spans: 220 });
    expect(spanMetrics({ metrics: {} } as unknown as LoadedModelInfo)).toBeNull();
  });
});

describe('re-running the shown prediction', () => {
  const target = { pair: 'EURUSD', timeframe: '1h', candles };
  it('asks for the same range, not for everything loaded by now', () => {
    const plan = planRequest('all', target, null, null, { start: 3600 * 40, end: 3600 * 80 })!;
    expect([plan.start, plan.end]).toEqual([3600 * 40, 3600 * 80]);
    expect(plan.body).toEqual({ pair: 'EURUSD', timeframe: '1h', start: 3600 * 40, end: 3600 * 80 });
    const visible = planRequest('visible', target, { from: 0, to: 10 }, null, { start: 3600 * 50, end: 3600 * 60 })!;
    expect([visible.start, visible.end]).toEqual([3600 * 50, 3600 * 60]);
    expect(planRequest('all', target, null, null, { start: 10, end: 20 })).toBeNull();
  });
});

describe('undo keys', () => {
  const k = (key: string, mods: Partial<KeyboardEvent> = {}) =>
    undoKey({ key, ctrlKey: false, metaKey: false, shiftKey: false, altKey: false, ...mods } as KeyboardEvent);
  it('Ctrl/Cmd+Z undoes, with Shift (or Ctrl+Y) redoes; nothing else', () => {
    expect(k('z', { ctrlKey: true })).toBe('undo');
    expect(k('z', { metaKey: true })).toBe('undo');
    expect(k('Z', { ctrlKey: true, shiftKey: true })).toBe('redo');
    expect(k('y', { ctrlKey: true })).toBe('redo');
    expect(k('z')).toBeNull();
    expect(k('z', { ctrlKey: true, altKey: true })).toBeNull();
  });
});
