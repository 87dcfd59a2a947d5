'use client';

/**
 * Undo and redo of annotation changes (Ctrl+Z, Ctrl+Shift+Z) and the toast that follows them.
 *
 * The history is lib/undo.ts's, pure; this hook keeps it, runs the API calls an undo or redo
 * needs (lib/review-undo.ts `runStep`): the annotation's through `apply` (the annotation
 * store's, which also updates the shown list), a review-queue answer's review mark through
 * /api/review-marks (`attachReview` makes it part of the answer's entry; `subscribe` tells the
 * queue panel what became of its marks). It holds the toast: after a destructive change
 * (delete, "Not a pattern") one with an "Undo" button, after an undo or redo one saying what
 * was taken back or done again, and the error when a call failed (the history then stays as it
 * was). One undo or redo runs at a time.
 */
import { useCallback, useLayoutEffect, useRef, useState } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import type { ReviewMark } from '@/lib/review-queue';
import { applyRemaps, attachReview, runStep, type MarkEvent, type ReviewMarkCall } from '@/lib/review-undo';
import {
  canRedo,
  canUndo,
  describe,
  emptyHistory,
  isDestructive,
  moveEntry,
  record,
  redo,
  undo,
  type UndoCall,
  type UndoEntry,
  type UndoHistory,
} from '@/lib/undo';
import type { SpanAnnotation } from '@/types';

/** What the toast shows: a message, and whether it offers "Undo". */
export interface UndoToastState {
  /** Changes with every new toast (restarts its timer). */
  key: number;
  message: string;
  canUndo: boolean;
  error: boolean;
}

export interface UndoController {
  /** A change was made (the store calls this after each successful create, edit, delete, accept, dismiss). */
  recordChange: (entry: UndoEntry) => void;
  /**
   * A review-queue answer's mark: from now on part of the entry that created `annotationId`, one
   * undo step. False when that entry is no longer done (undone meanwhile, or being undone): the
   * caller then takes the mark back itself.
   */
  attachReview: (annotationId: string, mark: ReviewMark) => boolean;
  /** Told of every review mark an undo or redo deletes or creates; answers the unsubscribe. */
  subscribe: (listener: (event: MarkEvent) => void) => () => void;
  /** Undo the last change; resolves to the error message, or null when it was undone (or there was nothing). */
  undo: () => Promise<string | null>;
  redo: () => Promise<string | null>;
  canUndo: boolean;
  canRedo: boolean;
  /** The change Ctrl+Z takes back next (null: none). */
  lastChange: UndoEntry | null;
  /** An undo or redo is running. */
  busy: boolean;
  toast: UndoToastState | null;
  closeToast: () => void;
}

/** One review-mark call; a DELETE of a mark already gone (404) is not an error. */
async function sendMark(call: ReviewMarkCall): Promise<ReviewMark | null> {
  if (call.method === 'POST') return apiFetch<ReviewMark>(call.url, { method: 'POST', body: JSON.stringify(call.body) });
  try {
    await apiFetch<void>(call.url, { method: 'DELETE' });
  } catch (err) {
    if ((err as ApiRequestError).status !== 404) throw err;
  }
  return null;
}

/**
 * `apply` sends one call and answers the span a POST created (null otherwise). `scope` names
 * what the history belongs to (the shown partition): when it changes the history and the toast
 * are dropped, so Ctrl+Z never reaches into a partition that is no longer shown.
 */
export function useUndo(apply: (call: UndoCall) => Promise<SpanAnnotation | null>, scope = ''): UndoController {
  // The history of the shown scope; a ref holds the same for the callbacks, which read and write
  // it in order even when a step finishes after other changes were recorded.
  const [history, setHistory] = useState(emptyHistory);
  const [toast, setToast] = useState<UndoToastState | null>(null);
  const [shownScope, setShownScope] = useState(scope);
  if (shownScope !== scope) {
    setShownScope(scope);
    setHistory(emptyHistory);
    setToast(null);
  }
  const kept = useRef({ scope, history: emptyHistory });
  const applyRef = useRef(apply);
  const [stepping, setStepping] = useState(false);
  const busy = useRef<number | null>(null);
  const seq = useRef(0);
  const ids = useRef(0);
  const listeners = useRef(new Set<(event: MarkEvent) => void>());

  // The latest apply for the callbacks (written after the render commits); another
  // scope starts with an empty history.
  useLayoutEffect(() => {
    applyRef.current = apply;
    if (kept.current.scope !== scope) kept.current = { scope, history: emptyHistory };
  });

  const read = useCallback((): UndoHistory => kept.current.history, []);
  /** Keeps `next` as the history, unless it belongs to a scope no longer shown. */
  const write = useCallback((next: UndoHistory, forScope: string) => {
    if (forScope !== kept.current.scope) return;
    kept.current = { scope: forScope, history: next };
    setHistory(next);
  }, []);

  const show = useCallback((message: string, offerUndo: boolean, error = false) => {
    setToast({ key: ++seq.current, message, canUndo: offerUndo, error });
  }, []);

  const recordChange = useCallback(
    (entry: UndoEntry) => {
      write(record(read(), { ...entry, id: ++ids.current }), kept.current.scope);
      if (isDestructive(entry)) show(describe(entry), true);
    },
    [read, write, show],
  );

  const attach = useCallback(
    (annotationId: string, mark: ReviewMark) => {
      const h = read();
      const updated = attachReview(h, annotationId, mark);
      if (!updated) return false;
      const target = updated.past.findLast((e) => e.review === mark);
      if (busy.current !== null && target?.id === busy.current) return false;
      write(updated, kept.current.scope);
      return true;
    },
    [read, write],
  );

  const subscribe = useCallback((listener: (event: MarkEvent) => void) => {
    listeners.current.add(listener);
    return () => void listeners.current.delete(listener);
  }, []);

  const step = useCallback(
    async (direction: 'undo' | 'redo'): Promise<string | null> => {
      if (busy.current !== null) return null;
      const next = direction === 'undo' ? undo(read()) : redo(read());
      if (!next) return null;
      const forScope = kept.current.scope;
      const { entry } = next;
      busy.current = entry.id ?? -1;
      setStepping(true);
      try {
        const out = await runStep(entry, direction, {
          annotation: applyRef.current,
          mark: sendMark,
          onMark: (event) => listeners.current.forEach((l) => l(event)),
        });
        if (forScope !== kept.current.scope) return null; // another partition is shown now
        const remapped = applyRemaps(read(), out.remaps);
        write(out.error || entry.id === undefined ? remapped : moveEntry(remapped, entry.id, direction), forScope);
        if (out.error) {
          const message = `Could not ${direction} "${describe(entry)}": ${out.error.message}`;
          show(message, false, true);
          return message;
        }
        show(`${direction === 'undo' ? 'Undone' : 'Redone'}: ${describe(entry)}`, false);
        return null;
      } finally {
        busy.current = null;
        setStepping(false);
      }
    },
    [read, write, show],
  );

  return {
    recordChange,
    attachReview: attach,
    subscribe,
    undo: useCallback(() => step('undo'), [step]),
    redo: useCallback(() => step('redo'), [step]),
    canUndo: canUndo(history),
    canRedo: canRedo(history),
    lastChange: history.past.at(-1) ?? null,
    busy: stepping,
    toast,
    closeToast: useCallback(() => setToast(null), []),
  };
}
