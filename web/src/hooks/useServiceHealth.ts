'use client';

/**
 * While the inference service is unreachable, ask GET /api/health every `HEALTH_POLL_MS`; the
 * first answer that is not a gateway error (502/504) calls `onBack` (reload what failed).
 */
import { useEffect, useEffectEvent } from 'react';

/** Often enough to reconnect within 5 s of the service's return. */
export const HEALTH_POLL_MS = 2_000;

export function useServiceHealthPoll(unreachable: boolean, onBack: () => void): void {
  const back = useEffectEvent(onBack);
  useEffect(() => {
    if (!unreachable) return;
    const timer = setInterval(async () => {
      const res = await fetch('/api/health', { cache: 'no-store' }).catch(() => null);
      if (res && res.status !== 502 && res.status !== 504) back();
    }, HEALTH_POLL_MS);
    return () => clearInterval(timer);
  }, [unreachable]);
}
