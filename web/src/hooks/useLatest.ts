'use client';

/**
 * The latest value of something a render produced, for handlers subscribed once (chart events,
 * timers, async loaders) that must not re-subscribe on every render. The ref is written after
 * the render commits, never during it.
 */
import { useLayoutEffect, useRef, type RefObject } from 'react';

export function useLatest<T>(value: T): RefObject<T> {
  const ref = useRef(value);
  useLayoutEffect(() => {
    ref.current = value;
  });
  return ref;
}
