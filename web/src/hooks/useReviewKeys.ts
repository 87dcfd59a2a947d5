'use client';

/**
 * The single-letter keys of the workbench (outside the dialog, which has its own):
 * `n` / `p` next / previous disagreement, `a` accept the current prediction, `x` "Not a
 * pattern", `1`-`9` the label for the next drawn span, `?` the key overlay.
 *
 * Skipped while typing, with Ctrl/Cmd/Alt held, and while the review-queue panel (issue 17,
 * `[data-keyboard-scope=review-queue]`) is open or has the focus: its own keys (a x e s u)
 * belong to it then. Only `?` (the overlay listing both sets) stays.
 */
import { useEffect, useEffectEvent } from 'react';
import { isTyping } from './useKeyboardShortcuts';

export const REVIEW_QUEUE_SCOPE = '[data-keyboard-scope=review-queue]';

/**
 * Whether the review-queue panel holds the focus or is open: its root (or an element in it)
 * says so with `data-open="true"` or an `aria-expanded="true"` toggle.
 */
export function reviewQueueActive(doc: Document = document): boolean {
  const active = doc.activeElement;
  if (active?.closest?.(REVIEW_QUEUE_SCOPE)) return true;
  return [...doc.querySelectorAll<HTMLElement>(REVIEW_QUEUE_SCOPE)].some(
    (el) => el.dataset.open === 'true' || el.querySelector('[data-open=true], [aria-expanded=true]') !== null,
  );
}

export interface ReviewKeys {
  /** The dialog is open (it handles its own keys; only `?` works here then). */
  dialogOpen: boolean;
  onStep: (by: 1 | -1) => void;
  onAccept: () => void;
  onDismiss: () => void;
  /** `1`-`9`: the label at that place (0-based index). */
  onLabelKey: (index: number) => void;
  onHelp: () => void;
}

export function useReviewKeys(keys: ReviewKeys): void {
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented || isTyping(e.target)) return;
    if (e.key === '?') {
      e.preventDefault();
      keys.onHelp();
      return;
    }
    if (keys.dialogOpen || reviewQueueActive()) return;
    const digit = /^[1-9]$/.test(e.key) ? Number(e.key) - 1 : null;
    if (digit !== null) keys.onLabelKey(digit);
    else if (e.key === 'n') keys.onStep(1);
    else if (e.key === 'p') keys.onStep(-1);
    else if (e.key === 'a') keys.onAccept();
    else if (e.key === 'x') keys.onDismiss();
    else return;
    e.preventDefault();
  });
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
