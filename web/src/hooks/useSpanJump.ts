'use client';

/**
 * Bringing a span into the chart's view: older candles are loaded until the span (and some room
 * before it) is there, then the chart shows it once it has drawn them.
 */
import { useCallback, useEffect, useState, type RefObject } from 'react';
import { timeframeSeconds } from '@/lib/spans';
import type { CandleChartHandle } from '@/components/CandleChart';
import type { CandleHistory } from './useCandleHistory';

/** Candles of room loaded before a span jumped to. */
const ROOM_CANDLES = 20;

export function useSpanJump(
  chartRef: RefObject<CandleChartHandle | null>,
  history: CandleHistory,
): (span: { start_time: number; end_time: number; timeframe: string }) => Promise<void> {
  const [jumpTo, setJumpTo] = useState<{ start: number; end: number } | null>(null);

  useEffect(() => {
    if (jumpTo && chartRef.current?.showSpan(jumpTo.start, jumpTo.end)) setJumpTo(null);
  }, [chartRef, jumpTo, history.candles]);

  const { loadUntil } = history;
  return useCallback(
    async (span) => {
      await loadUntil(span.start_time - ROOM_CANDLES * timeframeSeconds(span.timeframe));
      setJumpTo({ start: span.start_time, end: span.end_time });
    },
    [loadUntil],
  );
}
