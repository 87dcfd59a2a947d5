'use client';

/**
 * Candles of one pair/timeframe from /api/candles: the newest page first, older pages on
 * demand (scroll-back, or to reach a span from the list). Pages are merged by time, so it does
 * not matter whether the service's `end` is inclusive.
 *
 * The newest page of each partition is kept in the browser (lib/candle-cache.ts, IndexedDB):
 * when the service cannot be reached, the kept candles are shown (`fromCache`), so annotating
 * goes on; `error` still says the service is down.
 */
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import { loadCandles, saveCandles } from '@/lib/candle-cache';
import { mergeCandles } from '@/lib/spans';
import type { Candle } from '@/types';
import { useLatest } from './useLatest';

export const PAGE_SIZE = 2000;
const RETRY_AFTER_FAILURE_MS = 5000;

export interface HistoryTarget {
  pair: string;
  timeframe: string;
  /** From GET /partitions when known: where the stored history starts and ends. */
  first_time?: number;
  last_time?: number;
}

export interface CandleHistory {
  key: string;
  candles: Candle[];
  loading: boolean;
  /** The oldest stored candle is loaded. */
  complete: boolean;
  error: ApiRequestError | null;
  /** The candles shown are the ones kept in the browser (the service could not be reached). */
  fromCache: boolean;
  loadOlder: () => Promise<void>;
  /** Load older pages until `time` is loaded (or history ends). */
  loadUntil: (time: number) => Promise<void>;
  reload: () => void;
}

function candlesUrl(t: HistoryTarget, params: Record<string, number>): string {
  const q = new URLSearchParams({ pair: t.pair, timeframe: t.timeframe });
  for (const [k, v] of Object.entries(params)) q.set(k, String(v));
  return `/api/candles?${q}`;
}

export function useCandleHistory(target: HistoryTarget | null): CandleHistory {
  const key = target ? `${target.pair}|${target.timeframe}` : '';
  const [candles, setCandles] = useState<Candle[]>([]);
  const [loading, setLoading] = useState(target !== null);
  const [complete, setComplete] = useState(false);
  const [error, setError] = useState<ApiRequestError | null>(null);
  const [attempt, setAttempt] = useState(0);
  const [fromCache, setFromCache] = useState(false);

  // Mutable mirror for the async loaders, tied to the key it was loaded for.
  const state = useRef({ key: '', candles: [] as Candle[], complete: false, inFlight: null as Promise<void> | null, failedAt: 0 });
  const targetRef = useLatest(target);

  // Another partition, or a reload: start again from nothing.
  const [shown, setShown] = useState({ key, attempt });
  if (shown.key !== key || shown.attempt !== attempt) {
    setShown({ key, attempt });
    setCandles([]);
    setComplete(false);
    setError(null);
    setFromCache(false);
    if (target) setLoading(true);
  }

  useEffect(() => {
    state.current = { key, candles: [], complete: false, inFlight: null, failedAt: 0 };
    const t = targetRef.current;
    if (!t) return;
    let cancelled = false;
    const params: Record<string, number> = { limit: PAGE_SIZE };
    // end = last_time + 1 takes the newest page whether `end` is inclusive or not.
    if (t.last_time !== undefined) params.end = t.last_time + 1;
    const load = apiFetch<Candle[]>(candlesUrl(t, params))
      .then((page) => {
        if (cancelled) return;
        const merged = mergeCandles([], page);
        const done = page.length < PAGE_SIZE || (t.first_time !== undefined && merged.length > 0 && merged[0].time <= t.first_time);
        state.current = { ...state.current, candles: merged, complete: done };
        setCandles(merged);
        setComplete(done);
        void saveCandles(key, merged);
      })
      .catch(async (err: unknown) => {
        if (cancelled) return;
        const e = toApiError(err);
        setError(e);
        if (!e.serviceUnreachable) return;
        // The service is down: show the candles this browser kept, if any.
        const kept = await loadCandles(key);
        if (cancelled || !kept || state.current.candles.length) return;
        state.current = { ...state.current, candles: kept.candles, complete: false };
        setCandles(kept.candles);
        setFromCache(true);
      })
      .finally(() => {
        if (cancelled) return;
        state.current.inFlight = null;
        setLoading(false);
      });
    state.current.inFlight = load;
    return () => {
      cancelled = true;
    };
  }, [key, attempt, targetRef]);

  const loadOlder = useCallback(async () => {
    const s = state.current;
    const t = targetRef.current;
    if (!t || s.key !== key || s.complete || s.inFlight || !s.candles.length) return s.inFlight ?? undefined;
    // After a failure, scrolling does not hammer the service: wait a little before the next try.
    if (Date.now() - s.failedAt < RETRY_AFTER_FAILURE_MS) return;
    const oldest = s.candles[0].time;
    setLoading(true);
    const load = apiFetch<Candle[]>(candlesUrl(t, { end: oldest, limit: PAGE_SIZE }))
      .then((page) => {
        if (state.current.key !== key) return;
        const merged = mergeCandles(state.current.candles, page);
        const gained = merged.length - state.current.candles.length;
        const done = gained <= 0 || (t.first_time !== undefined && merged[0].time <= t.first_time);
        state.current = { ...state.current, candles: merged, complete: done };
        setCandles(merged);
        setComplete(done);
        setError(null);
      })
      .catch((err: unknown) => {
        // The loaded candles stay; the banner says why no more came.
        if (state.current.key !== key) return;
        state.current.failedAt = Date.now();
        setError(toApiError(err));
      })
      .finally(() => {
        if (state.current.key !== key) return;
        state.current.inFlight = null;
        setLoading(false);
      });
    state.current.inFlight = load;
    return load;
  }, [key, targetRef]);

  const loadUntil = useCallback(
    async (time: number) => {
      for (let guard = 0; guard < 1000; guard++) {
        const s = state.current;
        if (s.key !== key) return;
        if (s.inFlight) {
          await s.inFlight;
          continue;
        }
        if (s.complete || !s.candles.length || s.candles[0].time <= time) return;
        const before = s.candles.length;
        await loadOlder();
        if (state.current.candles.length === before) return; // an error, or nothing older
      }
    },
    [key, loadOlder],
  );

  const reload = useCallback(() => setAttempt((n) => n + 1), []);

  return { key, candles, loading, complete, error, fromCache, loadOlder, loadUntil, reload };
}

function toApiError(err: unknown): ApiRequestError {
  return err instanceof ApiRequestError ? err : new ApiRequestError(0, { detail: String(err) });
}
