'use client';

/** The toast after a change: what happened, "Undo" after a destructive one; gone after `ms` (default 8 s). */
import { useEffect } from 'react';
import type { UndoToastState } from '@/hooks/useUndo';

export const UNDO_TOAST_MS = 8000;

export function UndoToast(props: { toast: UndoToastState | null; onUndo: () => void; onClose: () => void; ms?: number }) {
  const { toast, onClose } = props;
  const ms = props.ms ?? UNDO_TOAST_MS;
  useEffect(() => {
    if (!toast) return;
    const timer = setTimeout(onClose, toast.error ? ms * 2 : ms);
    return () => clearTimeout(timer);
  }, [toast, onClose, ms]);
  if (!toast) return null;
  return (
    <div className={`toast ${toast.error ? 'toast--error' : ''}`} role={toast.error ? 'alert' : 'status'} data-testid="undo-toast">
      <span data-testid="undo-toast-message">{toast.message}</span>
      {toast.canUndo && (
        <button
          type="button"
          className="btn btn--primary"
          data-testid="undo-button"
          onClick={() => {
            onClose();
            props.onUndo();
          }}
          title="Undo (Ctrl+Z)"
        >
          Undo
        </button>
      )}
      <button type="button" className="btn toast__close" aria-label="Close" onClick={onClose}>
        ×
      </button>
    </div>
  );
}
