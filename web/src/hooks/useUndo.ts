'use client';

/**
 * Undo and redo of annotation changes (Ctrl+Z, Ctrl+Shift+Z) and the toast that follows them.
 *
 * The history is lib/undo.ts's, pure; this hook keeps it, runs the API call an undo or redo
 * needs through `apply` (the annotation store's, which also updates the shown list), and holds
 * the toast: after a destructive change (delete, "Not a pattern") one with an "Undo" button,
 * after an undo or redo one saying what was taken back or done again, and the error when the
 * call failed (the history then stays as it was). One undo or redo runs at a time.
 */
import { useCallback, useRef, useState } from 'react';
import {
  canRedo,
  canUndo,
  describe,
  emptyHistory,
  inverseCall,
  isDestructive,
  record,
  redo,
  redoCall,
  remapId,
  undo,
  type UndoCall,
  type UndoEntry,
} from '@/lib/undo';
import type { SpanAnnotation } from '@/types';
import { useLatest } from './useLatest';

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
  undo: () => Promise<void>;
  redo: () => Promise<void>;
  canUndo: boolean;
  canRedo: boolean;
  toast: UndoToastState | null;
  closeToast: () => void;
}

/**
 * `apply` sends one call and answers the span a POST created (null otherwise). `scope` names
 * what the history belongs to (the shown partition): when it changes the history and the toast
 * are dropped, so Ctrl+Z never reaches into a partition that is no longer shown.
 */
export function useUndo(apply: (call: UndoCall) => Promise<SpanAnnotation | null>, scope = ''): UndoController {
  const [history, setHistory] = useState(emptyHistory);
  const [toast, setToast] = useState<UndoToastState | null>(null);
  const [shownScope, setShownScope] = useState(scope);
  if (shownScope !== scope) {
    setShownScope(scope);
    setHistory(emptyHistory);
    setToast(null);
  }
  const latest = useLatest({ history, apply });
  const busy = useRef(false);
  const seq = useRef(0);

  const show = useCallback((message: string, offerUndo: boolean, error = false) => {
    setToast({ key: ++seq.current, message, canUndo: offerUndo, error });
  }, []);

  const recordChange = useCallback(
    (entry: UndoEntry) => {
      setHistory((h) => record(h, entry));
      if (isDestructive(entry)) show(describe(entry), true);
    },
    [show],
  );

  const step = useCallback(
    async (direction: 'undo' | 'redo') => {
      if (busy.current) return;
      const { history: h, apply: send } = latest.current;
      const next = direction === 'undo' ? undo(h) : redo(h);
      if (!next) return;
      busy.current = true;
      const call = direction === 'undo' ? inverseCall(next.entry) : redoCall(next.entry);
      try {
        const created = await send(call);
        let updated = next.history;
        if (call.method === 'POST' && created) updated = remapId(updated, (next.entry.before ?? next.entry.after)!.id, created);
        setHistory(updated);
        show(`${direction === 'undo' ? 'Undone' : 'Redone'}: ${describe(next.entry)}`, false);
      } catch (err) {
        show(`Could not ${direction} "${describe(next.entry)}": ${(err as Error).message}`, false, true);
      } finally {
        busy.current = false;
      }
    },
    [latest, show],
  );

  return {
    recordChange,
    undo: useCallback(() => step('undo'), [step]),
    redo: useCallback(() => step('redo'), [step]),
    canUndo: canUndo(history),
    canRedo: canRedo(history),
    toast,
    closeToast: useCallback(() => setToast(null), []),
  };
}
