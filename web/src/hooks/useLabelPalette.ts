'use client';

/**
 * The label palette: the configured labels, with the service's (GET /api/model/labels) merged
 * in when it answers. The configured labels are enough to annotate; the service's are a bonus.
 */
import { useCallback, useEffect, useMemo, useState } from 'react';
import { apiFetch } from '@/lib/api-client';
import { labelPalette, type LabelPalette } from '@/lib/labels';
import type { LabelDef } from '@/types';

export function useLabelPalette(configured: readonly LabelDef[]): { palette: LabelPalette; reload: () => void } {
  const [fromService, setFromService] = useState<unknown>(null);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    let cancelled = false;
    apiFetch<unknown>('/api/model/labels')
      .then((labels) => !cancelled && setFromService(labels))
      .catch(() => {
        /* keep the configured labels */
      });
    return () => {
      cancelled = true;
    };
  }, [attempt]);

  const reload = useCallback(() => setAttempt((n) => n + 1), []);
  const palette = useMemo(() => labelPalette(configured, fromService), [configured, fromService]);
  return { palette, reload };
}
