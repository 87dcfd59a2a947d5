import { describe, expect, it } from 'vitest';
import { PredictionCache, predictionCacheKey } from '@/lib/predictions/cache';
import type { PredictionResult } from '@/types/predictions';

function result(over: Partial<PredictionResult> = {}): PredictionResult {
  return {
    pair: 'EURUSD',
    timeframe: '1h',
    start: 1000,
    end: 2000,
    model_version: 'v1',
    candles: [],
    spans: [],
    kind: 'visible',
    ...over,
  };
}
const parts = (r: PredictionResult) => ({ pair: r.pair, timeframe: r.timeframe, start: r.start, end: r.end, modelVersion: r.model_version });

describe('prediction cache key', () => {
  it('is pair, timeframe, range and model version', () => {
    expect(predictionCacheKey({ pair: 'BTC-USDT', timeframe: '4h', start: 1, end: 2, modelVersion: '20261126-abc' })).toBe(
      'BTC-USDT|4h|1|2|20261126-abc',
    );
  });

  it('tells apart every part', () => {
    const base = { pair: 'EURUSD', timeframe: '1h', start: 1, end: 2, modelVersion: 'v1' };
    const keys = new Set(
      [base, { ...base, pair: 'GBPUSD' }, { ...base, timeframe: '4h' }, { ...base, start: 0 }, { ...base, end: 3 }, { ...base, modelVersion: 'v2' }].map(
        predictionCacheKey,
      ),
    );
    expect(keys.size).toBe(6);
  });
});

describe('PredictionCache', () => {
  it('returns a result for the same pair, timeframe, range and version only', () => {
    const cache = new PredictionCache();
    const r = result();
    cache.set(r);
    expect(cache.get(parts(r))).toBe(r);
    expect(cache.get({ ...parts(r), modelVersion: 'v2' })).toBeUndefined();
    expect(cache.get({ ...parts(r), end: 2001 })).toBeUndefined();
    expect(cache.get({ ...parts(r), pair: 'GBPUSD' })).toBeUndefined();
  });

  it('finds the narrowest result covering a range, of the same version', () => {
    const cache = new PredictionCache();
    const wide = result({ start: 0, end: 10_000, kind: 'all' });
    const narrow = result({ start: 900, end: 3000 });
    cache.set(wide);
    cache.set(narrow);
    cache.set(result({ start: 0, end: 500_000, model_version: 'v0' }));
    expect(cache.findCovering({ ...parts(narrow), start: 1000, end: 2000 })).toBe(narrow);
    expect(cache.findCovering({ ...parts(narrow), start: 100, end: 2000 })).toBe(wide);
    expect(cache.findCovering({ ...parts(narrow), start: 100, end: 20_000 })).toBeUndefined();
    expect(cache.findCovering({ ...parts(narrow), pair: 'GBPUSD' })).toBeUndefined();
  });

  it('drops the least recently used entries beyond its size', () => {
    const cache = new PredictionCache(2);
    const a = result({ start: 1 });
    const b = result({ start: 2 });
    const c = result({ start: 3 });
    cache.set(a);
    cache.set(b);
    cache.get(parts(a)); // a is now newer than b
    cache.set(c);
    expect(cache.size).toBe(2);
    expect(cache.get(parts(b))).toBeUndefined();
    expect(cache.get(parts(a))).toBe(a);
    expect(cache.get(parts(c))).toBe(c);
  });

  it('a new model version of a partition invalidates that partition only', () => {
    const cache = new PredictionCache();
    expect(cache.observeModelVersion('EURUSD', '1h', 'v1')).toBe(false); // first sight: nothing to drop
    expect(cache.observeModelVersion('GBPUSD', '1h', 'g1')).toBe(false);
    const eur = result();
    const eurAll = result({ start: 0, end: 9999, kind: 'all' });
    const gbp = result({ pair: 'GBPUSD', model_version: 'g1' });
    [eur, eurAll, gbp].forEach((r) => cache.set(r));
    expect(cache.observeModelVersion('EURUSD', '1h', 'v1')).toBe(false); // the same version again
    expect(cache.size).toBe(3);
    expect(cache.observeModelVersion('EURUSD', '1h', 'v2')).toBe(true);
    expect(cache.get(parts(eur))).toBeUndefined();
    expect(cache.get(parts(eurAll))).toBeUndefined();
    expect(cache.get(parts(gbp))).toBe(gbp);
    expect(cache.size).toBe(1);
  });

  it('a late answer of the old model does not undo an invalidation', () => {
    const cache = new PredictionCache();
    cache.observeModelVersion('EURUSD', '1h', 'v1');
    cache.observeModelVersion('EURUSD', '1h', 'v2');
    const late = result({ model_version: 'v1' });
    const current = result({ model_version: 'v2', start: 5 });
    cache.set(current);
    cache.set(late);
    // Versions come from /model/info only: storing v1 again does not drop the v2 entry.
    expect(cache.get(parts(current))).toBe(current);
    expect(cache.observeModelVersion('EURUSD', '1h', 'v2')).toBe(false);
  });
});
