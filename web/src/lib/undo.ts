/**
 * The undo/redo history of annotation changes, pure: what was done (`UndoEntry`, the span
 * before and after) and the API call that takes it back or does it again (`inverseCall`,
 * `redoCall`). The database stays the truth: undoing goes through /api/span-annotations like
 * any other change, so nothing is only undone in the browser.
 *
 * - create / accept (a reviewed prediction saved) / dismiss ("Not a pattern": a negative span):
 *   undo deletes the created span, redo creates it again;
 * - edit: undo writes the former values back (PATCH), redo the new ones;
 * - delete: undo creates the span again (a new id), redo deletes it.
 *
 * A span created again gets a new id: `remapId` puts it into every entry still in the history,
 * so a later undo or redo of the same span finds it. At most `limit` entries (default 100) are
 * kept; a new change clears the redo side.
 *
 * A review-queue answer is one entry for its annotation and its review mark (`review`): undo
 * and redo run both (lib/review-undo.ts). Entries recorded by hooks/useUndo get an `id`, so a
 * step that finishes after other changes still moves its own entry (`moveEntry`).
 */
import type { ReviewMark } from './review-queue';
import type { SpanAnnotation } from '@/types';

export type UndoKind = 'create' | 'edit' | 'delete' | 'accept' | 'dismiss';

export interface UndoEntry {
  kind: UndoKind;
  /** The span before the change (null for create, accept, dismiss). */
  before: SpanAnnotation | null;
  /** The span after the change (null for delete). */
  after: SpanAnnotation | null;
  /** The review mark a review-queue answer made with the annotation: undone and redone with it. */
  review?: ReviewMark | null;
  /** Given by hooks/useUndo when it records the entry (unique in its history). */
  id?: number;
}

export interface UndoHistory {
  /** Done changes, oldest first (the last one is undone first). */
  past: UndoEntry[];
  /** Undone changes, the next one to redo last. */
  future: UndoEntry[];
}

export const DEFAULT_UNDO_LIMIT = 100;
export const emptyHistory: UndoHistory = { past: [], future: [] };

/** One call to /api/span-annotations. */
export type UndoCall =
  | { method: 'POST'; url: string; body: Record<string, unknown> }
  | { method: 'PATCH'; url: string; body: Record<string, unknown> }
  | { method: 'DELETE'; url: string; id: string };

/** Checks the shape an entry of `kind` must have; throws naming what is missing. */
function checkEntry(e: UndoEntry): void {
  const needsBefore = e.kind === 'edit' || e.kind === 'delete';
  const needsAfter = e.kind !== 'delete';
  if (needsBefore && !e.before) throw new Error(`undo entry "${e.kind}": "before" (the span before the change) is missing`);
  if (needsAfter && !e.after) throw new Error(`undo entry "${e.kind}": "after" (the span after the change) is missing`);
}

/** `history` with `entry` done: added to `past` (the oldest dropped beyond `limit`), `future` cleared. */
export function record(history: UndoHistory, entry: UndoEntry, limit = DEFAULT_UNDO_LIMIT): UndoHistory {
  checkEntry(entry);
  const past = [...history.past, entry];
  return { past: past.slice(Math.max(0, past.length - Math.max(1, limit))), future: [] };
}

export const canUndo = (h: UndoHistory) => h.past.length > 0;
export const canRedo = (h: UndoHistory) => h.future.length > 0;

/** The entry to undo and the history once it is undone, or null when there is nothing. */
export function undo(h: UndoHistory): { entry: UndoEntry; history: UndoHistory } | null {
  const entry = h.past.at(-1);
  if (!entry) return null;
  return { entry, history: { past: h.past.slice(0, -1), future: [...h.future, entry] } };
}

/** The entry to redo and the history once it is redone, or null when there is nothing. */
export function redo(h: UndoHistory): { entry: UndoEntry; history: UndoHistory } | null {
  const entry = h.future.at(-1);
  if (!entry) return null;
  return { entry, history: { past: [...h.past, entry], future: h.future.slice(0, -1) } };
}

/**
 * `h` once the step of entry `id` is done: undone, it moves from `past` to the top of `future`;
 * redone, from `future` to the top of `past`. Unchanged when the entry is not on that side.
 */
export function moveEntry(h: UndoHistory, id: number, direction: 'undo' | 'redo'): UndoHistory {
  const from = direction === 'undo' ? h.past : h.future;
  const entry = from.find((e) => e.id === id);
  if (!entry) return h;
  const rest = from.filter((e) => e !== entry);
  return direction === 'undo' ? { past: rest, future: [...h.future, entry] } : { past: [...h.past, entry], future: rest };
}

/** The fields a span is created with again (the server gives it a new id and times). */
export function creationBody(a: SpanAnnotation): Record<string, unknown> {
  return {
    pair: a.pair,
    timeframe: a.timeframe,
    label: a.label,
    start_time: a.start_time,
    end_time: a.end_time,
    confidence: a.confidence,
    source: a.source,
    model_prediction: a.model_prediction,
    note: a.note,
  };
}

/** The fields an edit writes (what the dialog and the drag handles change). */
export function editBody(a: SpanAnnotation): Record<string, unknown> {
  return { label: a.label, confidence: a.confidence, note: a.note, start_time: a.start_time, end_time: a.end_time };
}

const itemUrl = (id: string) => `/api/span-annotations/${encodeURIComponent(id)}`;

/** The call that takes `entry` back. */
export function inverseCall(entry: UndoEntry): UndoCall {
  checkEntry(entry);
  if (entry.kind === 'delete') return { method: 'POST', url: '/api/span-annotations', body: creationBody(entry.before!) };
  if (entry.kind === 'edit') return { method: 'PATCH', url: itemUrl(entry.after!.id), body: editBody(entry.before!) };
  return { method: 'DELETE', url: itemUrl(entry.after!.id), id: entry.after!.id };
}

/** The call that does `entry` again. */
export function redoCall(entry: UndoEntry): UndoCall {
  checkEntry(entry);
  if (entry.kind === 'delete') return { method: 'DELETE', url: itemUrl(entry.before!.id), id: entry.before!.id };
  if (entry.kind === 'edit') return { method: 'PATCH', url: itemUrl(entry.before!.id), body: editBody(entry.after!) };
  return { method: 'POST', url: '/api/span-annotations', body: creationBody(entry.after!) };
}

/** `history` with the span `oldId` (created again) known as `created` in every entry. */
export function remapId(history: UndoHistory, oldId: string, created: SpanAnnotation): UndoHistory {
  const fix = (a: SpanAnnotation | null) => (a && a.id === oldId ? { ...a, id: created.id } : a);
  const map = (list: UndoEntry[]) => list.map((e) => ({ ...e, before: fix(e.before), after: fix(e.after) }));
  return { past: map(history.past), future: map(history.future) };
}

/** A short description for the toast and the button titles: "Deleted bull_flag", "Undid …". */
export function describe(entry: UndoEntry): string {
  const span = entry.after ?? entry.before;
  // A dismissal stores O: name what the model said instead.
  const label = (entry.kind === 'dismiss' ? span?.model_prediction?.label : undefined) ?? span?.label ?? '';
  const verb = { create: 'Created', edit: 'Edited', delete: 'Deleted', accept: 'Accepted', dismiss: 'Marked "not a pattern":' }[entry.kind];
  return `${verb} ${label}${entry.review ? ' (review queue)' : ''}`.trim();
}

/** Whether an entry is destructive (its toast offers "Undo"): delete and dismiss. */
export const isDestructive = (entry: UndoEntry) => entry.kind === 'delete' || entry.kind === 'dismiss';
