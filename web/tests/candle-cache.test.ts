/**
 * lib/candle-cache.ts against a complete IndexedDB (fake-indexeddb: the spec in memory, as
 * Node has none): what a reload while the inference service is down relies on.
 */
import { IDBFactory } from 'fake-indexeddb';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { CANDLE_DB, loadCandles, MAX_CACHED_CANDLES, saveCandles } from '@/lib/candle-cache';
import type { Candle } from '@/types';

const HOUR = 3600;
const T0 = 1_700_000_000;

/** `n` hourly candles from `from` (epoch seconds), each price telling its index and `tag` apart. */
function candles(n: number, from = T0, tag = 0): Candle[] {
  return Array.from({ length: n }, (_, i) => {
    const p = 1 + tag + i / 10_000;
    return { time: from + i * HOUR, open: p, high: p + 0.001, low: p - 0.001, close: p, volume: i };
  });
}

const original = Object.getOwnPropertyDescriptor(globalThis, 'indexedDB');

beforeEach(() => {
  // A fresh, empty IndexedDB per test: what a browser profile that never cached anything has.
  Object.defineProperty(globalThis, 'indexedDB', { value: new IDBFactory(), configurable: true, writable: true });
});

afterEach(() => {
  if (original) Object.defineProperty(globalThis, 'indexedDB', original);
  else delete (globalThis as { indexedDB?: unknown }).indexedDB;
});

describe('candle cache (IndexedDB)', () => {
  it('gives back the candles saved for a partition, with the time of the save', async () => {
    const saved = candles(300);
    await saveCandles('EURUSD|1h', saved, 1_234_567);
    const kept = await loadCandles('EURUSD|1h');
    expect(kept).toEqual({ key: 'EURUSD|1h', candles: saved, saved_at: 1_234_567 });
  });

  it('answers null for a partition never saved, also when others are', async () => {
    expect(await loadCandles('EURUSD|1h')).toBeNull();
    await saveCandles('EURUSD|1h', candles(10));
    expect(await loadCandles('GBPUSD|1h')).toBeNull();
    expect(await loadCandles('EURUSD|4h')).toBeNull();
    expect(await loadCandles('')).toBeNull();
  });

  it('keeps each partition (pair and timeframe) apart', async () => {
    const parts = {
      'EURUSD|1h': candles(20, T0, 0),
      'EURUSD|4h': candles(30, T0, 1),
      'GBPUSD|1h': candles(40, T0, 2),
    };
    for (const [key, list] of Object.entries(parts)) await saveCandles(key, list);
    for (const [key, list] of Object.entries(parts)) {
      const kept = await loadCandles(key);
      expect(kept?.key).toBe(key);
      expect(kept?.candles).toEqual(list);
    }
  });

  it('the newest save of a partition replaces the one before, whole (not merged), leaving the others', async () => {
    const first = candles(100, T0, 0);
    const second = candles(50, T0 + 500 * HOUR, 3);
    const other = candles(10, T0, 5);
    await saveCandles('EURUSD|1h', first, 1000);
    await saveCandles('GBPUSD|1h', other, 1500);
    await saveCandles('EURUSD|1h', second, 2000);
    expect(await loadCandles('EURUSD|1h')).toEqual({ key: 'EURUSD|1h', candles: second, saved_at: 2000 });
    expect(await loadCandles('GBPUSD|1h')).toEqual({ key: 'GBPUSD|1h', candles: other, saved_at: 1500 });
  });

  it(`keeps at most the newest ${MAX_CACHED_CANDLES} candles of a save, in ascending order`, async () => {
    const many = candles(MAX_CACHED_CANDLES + 1234);
    await saveCandles('EURUSD|1h', many);
    const kept = await loadCandles('EURUSD|1h');
    expect(kept?.candles).toHaveLength(MAX_CACHED_CANDLES);
    expect(kept?.candles).toEqual(many.slice(-MAX_CACHED_CANDLES));
    expect(kept?.candles[0].time).toBe(T0 + 1234 * HOUR);
    expect(kept?.candles.at(-1)).toEqual(many.at(-1));

    const exactly = candles(MAX_CACHED_CANDLES, T0, 1);
    await saveCandles('EURUSD|4h', exactly);
    expect((await loadCandles('EURUSD|4h'))?.candles).toEqual(exactly);
  });

  it('does not change what the caller passed in', async () => {
    const many = candles(MAX_CACHED_CANDLES + 10);
    const copy = structuredClone(many);
    await saveCandles('EURUSD|1h', many);
    expect(many).toEqual(copy);
  });

  it('an empty save keeps the candles saved before (a failed page never blanks the cache)', async () => {
    const saved = candles(25);
    await saveCandles('EURUSD|1h', saved, 1000);
    await saveCandles('EURUSD|1h', [], 2000);
    expect(await loadCandles('EURUSD|1h')).toEqual({ key: 'EURUSD|1h', candles: saved, saved_at: 1000 });
    await saveCandles('GBPUSD|1h', [], 2000);
    expect(await loadCandles('GBPUSD|1h')).toBeNull();
  });

  it(`reads an entry without candles in the "${CANDLE_DB}" database as absent`, async () => {
    await saveCandles('EURUSD|1h', candles(5)); // creates the database and its store
    const db = await new Promise<IDBDatabase>((resolve, reject) => {
      const req = indexedDB.open(CANDLE_DB);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
    await new Promise<void>((resolve, reject) => {
      const tx = db.transaction('candles', 'readwrite');
      tx.objectStore('candles').put({ key: 'GBPUSD|1h', candles: [], saved_at: 1 });
      tx.objectStore('candles').put({ key: 'USDJPY|1h', candles: 'not a list', saved_at: 1 });
      tx.oncomplete = () => resolve();
      tx.onerror = () => reject(tx.error);
    });
    db.close();
    expect(await loadCandles('GBPUSD|1h')).toBeNull();
    expect(await loadCandles('USDJPY|1h')).toBeNull();
    expect((await loadCandles('EURUSD|1h'))?.candles).toHaveLength(5);
  });

  it('without IndexedDB (the server render) a save does nothing and a read answers null', async () => {
    delete (globalThis as { indexedDB?: unknown }).indexedDB;
    expect(typeof indexedDB).toBe('undefined');
    await expect(saveCandles('EURUSD|1h', candles(5))).resolves.toBeUndefined();
    expect(await loadCandles('EURUSD|1h')).toBeNull();
  });

  it('when the browser refuses IndexedDB (a private window) a save does nothing and a read answers null', async () => {
    const refusing = {
      open() {
        throw new DOMException('The user denied permission to access the database.', 'SecurityError');
      },
    };
    Object.defineProperty(globalThis, 'indexedDB', { value: refusing, configurable: true, writable: true });
    await expect(saveCandles('EURUSD|1h', candles(5))).resolves.toBeUndefined();
    expect(await loadCandles('EURUSD|1h')).toBeNull();
  });
});
