'use client';

/** The workbench's keys: Esc cancels (a selection, the dialog, or the selection of a span), Delete removes the selected span. */
import { useEffect, useEffectEvent } from 'react';

export interface KeyboardShortcuts {
  onEscape: () => void;
  /** Delete, unless the focus is in a text field; true when it removed something (the key is then consumed). */
  onDelete: () => boolean;
}

/** Whether the key went to something the user types in (Delete then edits text). */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)));
}

export function useKeyboardShortcuts(shortcuts: KeyboardShortcuts): void {
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    if (e.key === 'Escape') shortcuts.onEscape();
    else if (e.key === 'Delete' && !isTyping(e.target)) {
      if (shortcuts.onDelete()) e.preventDefault();
    }
  });
  useEffect(() => {
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);
}
