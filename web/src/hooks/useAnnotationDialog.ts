'use client';

/**
 * The annotation dialog and the selected span as one reducer: which span is selected, whether
 * it is being edited, the span waiting to be created (drawn on the chart or taken from a
 * prediction), whether a save is running and the dialog's error. Every user action is one
 * dispatch, so the pieces of this state always change together.
 */
import { useReducer } from 'react';
import type { SelectedSpan } from '@/lib/spans';
import type { PredictionSpan } from '@/types/predictions';

/** A span waiting in the dialog; from a prediction when `prediction` is set. */
export type PendingSpan = SelectedSpan & { prediction?: PredictionSpan };

export interface DialogState {
  /** A new span waiting in the dialog. */
  pending: PendingSpan | null;
  /** The selected saved span. */
  selectedId: string | null;
  /** The selected span is open in the dialog. */
  editing: boolean;
  saving: boolean;
  error: string | null;
}

export type DialogAction =
  /** Another partition is shown: nothing selected, nothing open. */
  | { type: 'partitionChanged' }
  /** A new span to save: drawn on the chart, or a prediction to review. */
  | { type: 'spanChosen'; span: PendingSpan }
  /** A saved span clicked on the chart (null: the chart's background): selected and open. */
  | { type: 'spanClicked'; id: string | null }
  /** A saved span picked in the list: selected (and shown), not opened. */
  | { type: 'selected'; id: string }
  /** "Edit" in the list. */
  | { type: 'editRequested'; id: string }
  | { type: 'closed' }
  /** Esc: closes the dialog, or else drops the selection. */
  | { type: 'escaped' }
  | { type: 'saveStarted' }
  /** "Not a pattern" sent (the dialog's error stays until it is answered). */
  | { type: 'dismissStarted' }
  /** Saved; `createdId` when a new span was created (it becomes the selected one). */
  | { type: 'saved'; createdId?: string }
  /** A prediction answered with "not a pattern". */
  | { type: 'dismissed' }
  /** A save or dismissal failed; `message` is shown in the dialog when given. */
  | { type: 'saveFailed'; message?: string }
  | { type: 'removed'; id: string };

export const initialDialogState: DialogState = { pending: null, selectedId: null, editing: false, saving: false, error: null };

export function dialogReducer(state: DialogState, action: DialogAction): DialogState {
  switch (action.type) {
    case 'partitionChanged':
      return { ...state, selectedId: null, pending: null, editing: false };
    case 'spanChosen':
      return { ...state, pending: action.span, selectedId: null, editing: false, error: null };
    case 'spanClicked':
      return { ...state, selectedId: action.id, editing: action.id !== null, pending: null, error: null };
    case 'selected':
      return { ...state, selectedId: action.id, pending: null, editing: false };
    case 'editRequested':
      return { ...state, selectedId: action.id, editing: true, pending: null };
    case 'closed':
      return { ...state, pending: null, editing: false, error: null };
    case 'escaped':
      return state.pending || state.editing
        ? { ...state, pending: null, editing: false, error: null }
        : { ...state, selectedId: null };
    case 'saveStarted':
      return { ...state, saving: true, error: null };
    case 'dismissStarted':
      return { ...state, saving: true };
    case 'saved':
      return {
        ...state,
        saving: false,
        pending: null,
        editing: false,
        selectedId: action.createdId ?? state.selectedId,
      };
    case 'dismissed':
      return { ...state, saving: false, pending: null, error: null };
    case 'saveFailed':
      return { ...state, saving: false, error: action.message ?? state.error };
    case 'removed':
      return { ...state, selectedId: state.selectedId === action.id ? null : state.selectedId, editing: false, error: null };
  }
}

/** Whether the dialog is open: a new span waits, or the selected one is being edited. */
export function isDialogOpen(state: DialogState, selectedExists: boolean): boolean {
  return Boolean(state.pending || (state.editing && selectedExists));
}

export function useAnnotationDialog() {
  return useReducer(dialogReducer, initialDialogState);
}
