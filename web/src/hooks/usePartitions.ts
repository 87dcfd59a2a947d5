'use client';

/**
 * The pairs and timeframes the service has candles for (GET /api/partitions), the chosen one,
 * and the selector's options (the service's partitions and the annotated ones). Without the
 * service, the first annotated partition is chosen, so annotating goes on.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import type { Partition } from '@/types';
import { partitionKey, type PartitionOption } from '@/components/PartitionSelector';

export type Selection = { pair: string; timeframe: string };

export interface AnnotatedPartition {
  pair: string;
  timeframe: string;
  annotations: number;
}

export interface PartitionsState {
  /** The service's partitions; null until it answered. */
  partitions: Partition[] | null;
  error: ApiRequestError | null;
  /** The service answered, or failed: the candles can be asked for. */
  settled: boolean;
  selection: Selection | null;
  select: (selection: Selection) => void;
  /** The chosen partition as the service describes it (history bounds), when it does. */
  partition: Partition | null;
  options: PartitionOption[];
  /** Ask the service again (after an outage). */
  reload: () => void;
}

export function usePartitions(
  annotatedPartitions: readonly AnnotatedPartition[],
  initialSelection: Selection | null,
): PartitionsState {
  const [partitions, setPartitions] = useState<Partition[] | null>(null);
  const [error, setError] = useState<ApiRequestError | null>(null);
  const [selection, setSelection] = useState<Selection | null>(initialSelection);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    apiFetch<Partition[]>('/api/partitions')
      .then((list) => {
        if (cancelled) return;
        setPartitions(list);
        setError(null);
        setSelection((current) => current ?? (list[0] ? { pair: list[0].pair, timeframe: list[0].timeframe } : null));
      })
      .catch((err: ApiRequestError) => {
        if (cancelled) return;
        setError(err);
        // Without the service, fall back to the partitions that have annotations.
        setSelection((current) => current ?? (annotatedPartitions[0] ? { ...annotatedPartitions[0] } : null));
      });
    return () => {
      cancelled = true;
    };
  }, [annotatedPartitions, attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);

  const partition = useMemo(
    () => (selection && partitions?.find((p) => p.pair === selection.pair && p.timeframe === selection.timeframe)) || null,
    [partitions, selection],
  );

  const options = useMemo(() => {
    const byKey = new Map<string, PartitionOption>();
    for (const p of partitions ?? []) byKey.set(partitionKey(p), { pair: p.pair, timeframe: p.timeframe, candles: p.candles });
    for (const a of annotatedPartitions) {
      const k = partitionKey(a);
      byKey.set(k, { ...(byKey.get(k) ?? { pair: a.pair, timeframe: a.timeframe }), annotations: a.annotations });
    }
    return [...byKey.values()];
  }, [partitions, annotatedPartitions]);

  return {
    partitions,
    error,
    settled: partitions !== null || error !== null,
    selection,
    select: setSelection,
    partition,
    options,
    reload,
  };
}
