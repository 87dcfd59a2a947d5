'use client';

/**
 * The workbench's keys: Esc cancels (a selection, the dialog, or the selection of a span),
 * Delete removes the selected span, Ctrl+Z (Cmd+Z) undoes the last annotation change and
 * Ctrl+Shift+Z (or Ctrl+Y) redoes it. In a text field, Delete and the undo keys edit the text.
 */
import { useEffect, useEffectEvent } from 'react';

export interface KeyboardShortcuts {
  onEscape: () => void;
  /** Delete, unless the focus is in a text field; true when it removed something (the key is then consumed). */
  onDelete: () => boolean;
  onUndo?: () => void;
  onRedo?: () => void;
}

/** 'undo', 'redo' or null for a key event (Ctrl or Cmd with Z, Shift+Z or Y). */
export function undoKey(e: Pick<KeyboardEvent, 'key' | 'ctrlKey' | 'metaKey' | 'shiftKey' | 'altKey'>): 'undo' | 'redo' | null {
  if (!(e.ctrlKey || e.metaKey) || e.altKey) return null;
  const key = e.key.toLowerCase();
  if (key === 'z') return e.shiftKey ? 'redo' : 'undo';
  if (key === 'y' && !e.shiftKey) return 'redo';
  return null;
}

/** Whether the key went to something the user types in (Delete then edits text). */
export function isTyping(target: EventTarget | null): boolean {
  const el = target as HTMLElement | null;
  return Boolean(el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName)));
}

export function useKeyboardShortcuts(shortcuts: KeyboardShortcuts): void {
  const onKey = useEffectEvent((e: KeyboardEvent) => {
    const step = undoKey(e);
    if (step && !isTyping(e.target)) {
      e.preventDefault();
      if (step === 'undo') shortcuts.onUndo?.();
      else shortcuts.onRedo?.();
      return;
    }
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
