import { describe, expect, it } from 'vitest';
import { candlesQuerySchema, createSpanAnnotationSchema, parseWith } from '@/lib/validation';

describe('validation', () => {
  it('lists every field at fault, the first in detail', () => {
    const r = parseWith(createSpanAnnotationSchema, { pair: 'x', timeframe: '1h', label: 'a', start_time: 'soon' }, 'annotation');
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.field).toBe('pair');
    expect(r.error.errors!.map((e) => e.field)).toEqual(['pair', 'start_time', 'end_time']);
    expect(r.error.errors!.find((e) => e.field === 'end_time')!.message).toBe('is required');
    expect(r.error.detail).toMatch(/^Invalid annotation: pair must be upper-case/);
  });

  it('accepts pairs joined by a dash and defaults the source', () => {
    const r = parseWith(createSpanAnnotationSchema, { pair: 'BTC-USDT', timeframe: '4h', label: 'bull_flag', start_time: 0, end_time: 0 }, 'a');
    expect(r).toMatchObject({ ok: true, data: { source: 'human', confidence: 1, note: '', model_prediction: null } });
  });

  it('parses the candles query as integers', () => {
    const r = parseWith(candlesQuerySchema, { pair: 'EURUSD', timeframe: '1h', end: '1700000000', limit: '500' }, 'query');
    expect(r).toEqual({ ok: true, data: { pair: 'EURUSD', timeframe: '1h', end: 1_700_000_000, limit: 500 } });
    const bad = parseWith(candlesQuerySchema, { pair: 'EURUSD', timeframe: '1h', limit: '-3' }, 'query');
    expect(bad.ok || bad.error.field).toBe('limit');
  });
});
