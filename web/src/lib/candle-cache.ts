/**
 * The last loaded candles of each partition, kept in the browser (IndexedDB), so a reload while
 * the inference service is down still shows the chart and annotating goes on.
 *
 * One object store, `candles`, keyed by "PAIR|TF": `{ key, candles, saved_at }` with at most
 * `MAX_CACHED_CANDLES` (default 5,000) of the newest candles. Every call answers null / does
 * nothing when IndexedDB is missing or refuses (private windows, the server render): the cache
 * only ever helps, it is never needed.
 */
import type { Candle } from '@/types';

export const CANDLE_DB = 'annotator-candles';
const STORE = 'candles';
export const MAX_CACHED_CANDLES = 5000;

export interface CachedCandles {
  key: string;
  candles: Candle[];
  /** Epoch milliseconds of the save. */
  saved_at: number;
}

function open(): Promise<IDBDatabase | null> {
  return new Promise((resolve) => {
    if (typeof indexedDB === 'undefined') return resolve(null);
    let req: IDBOpenDBRequest;
    try {
      req = indexedDB.open(CANDLE_DB, 1);
    } catch {
      return resolve(null);
    }
    req.onupgradeneeded = () => {
      if (!req.result.objectStoreNames.contains(STORE)) req.result.createObjectStore(STORE, { keyPath: 'key' });
    };
    req.onsuccess = () => resolve(req.result);
    req.onerror = () => resolve(null);
    req.onblocked = () => resolve(null);
  });
}

/** The newest `MAX_CACHED_CANDLES` of `candles` (ascending) for `key`; resolves when written (or not). */
export async function saveCandles(key: string, candles: readonly Candle[], now = Date.now()): Promise<void> {
  const db = await open();
  if (!db || !candles.length) return;
  await new Promise<void>((resolve) => {
    try {
      const tx = db.transaction(STORE, 'readwrite');
      const entry: CachedCandles = { key, candles: candles.slice(-MAX_CACHED_CANDLES), saved_at: now };
      tx.objectStore(STORE).put(entry);
      tx.oncomplete = tx.onerror = tx.onabort = () => resolve();
    } catch {
      resolve();
    }
  });
  db.close();
}

/** The candles kept for `key`, or null. */
export async function loadCandles(key: string): Promise<CachedCandles | null> {
  const db = await open();
  if (!db) return null;
  const found = await new Promise<CachedCandles | null>((resolve) => {
    try {
      const req = db.transaction(STORE, 'readonly').objectStore(STORE).get(key);
      req.onsuccess = () => resolve((req.result as CachedCandles | undefined) ?? null);
      req.onerror = () => resolve(null);
    } catch {
      resolve(null);
    }
  });
  db.close();
  return found && Array.isArray(found.candles) && found.candles.length ? found : null;
}
