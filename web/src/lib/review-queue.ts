/**
 * The review queue's pure logic (vitest-tested; no React, no fetch): which stretches are still
 * to review, progress, the keys, what an answer saves, and undo.
 *
 * - A stretch is *reviewed* when a review mark (web database, table review_marks) of the same
 *   partition covers it (more than half of the shorter span shared, in candle time) with the
 *   same fingerprint of the model's answer. A new model that answers differently there gives
 *   another fingerprint, so the stretch is back (docs/DESIGN.md, "Review queue").
 * - Skipped stretches are skipped for this session only; reviewed ones stay gone after a reload.
 */
import type { components } from '../../generated/api.gen';
import { NEGATIVE_LABEL } from './constants';
import type { PredictionSpan } from '@/types/predictions';

/** One stretch of GET /review-queue (generated from the service's schema). */
export type ReviewItem = components['schemas']['ReviewItem'];
/** The body of GET /review-queue. */
export type ReviewQueue = components['schemas']['ReviewQueueResponse'];

export type ReviewAction = 'accept' | 'dismiss' | 'edit';

/** A review mark as /api/review-marks returns it. */
export interface ReviewMark {
  id: string;
  pair: string;
  timeframe: string;
  start_time: number;
  end_time: number;
  fingerprint: string;
  action: ReviewAction;
  annotation_id: string | null;
  model_version: string;
  created_at: string;
}

export type ReviewMarkInput = Omit<ReviewMark, 'id' | 'created_at'>;

/** Panel keys: a accept, x not a pattern, e edit then save, s skip, u undo. */
export type ReviewKey = ReviewAction | 'skip' | 'undo';

const KEYS: Record<string, ReviewKey> = { a: 'accept', x: 'dismiss', e: 'edit', s: 'skip', u: 'undo' };

/** The panel command of a key press (no modifier keys), or null. */
export function keyCommand(e: { key: string; ctrlKey?: boolean; metaKey?: boolean; altKey?: boolean }): ReviewKey | null {
  if (e.ctrlKey || e.metaKey || e.altKey) return null;
  return KEYS[e.key] ?? KEYS[e.key.toLowerCase()] ?? null;
}

/** Seconds of candles the span covers, counting its last candle (`step` = the timeframe's seconds). */
function length(start: number, end: number, step: number): number {
  return end - start + step;
}

/** True when the two spans share more than half of the shorter one. */
export function spansMatch(a: { start_time: number; end_time: number }, b: { start_time: number; end_time: number }, step: number): boolean {
  const shared = Math.min(a.end_time, b.end_time) - Math.max(a.start_time, b.start_time) + step;
  if (shared <= 0) return false;
  return shared * 2 > Math.min(length(a.start_time, a.end_time, step), length(b.start_time, b.end_time, step));
}

/** The mark that makes `item` reviewed, or undefined (same partition, matching span, same fingerprint). */
export function markOf(item: ReviewItem, marks: readonly ReviewMark[], partition: { pair: string; timeframe: string }, step: number): ReviewMark | undefined {
  return marks.find(
    (m) => m.pair === partition.pair && m.timeframe === partition.timeframe && m.fingerprint === item.fingerprint && spansMatch(m, item, step),
  );
}

/** Stable key of a stretch within one queue. */
export function itemKey(item: Pick<ReviewItem, 'start_time' | 'end_time' | 'fingerprint'>): string {
  return `${item.start_time}-${item.end_time}-${item.fingerprint}`;
}

export interface QueueProgress {
  reviewed: number;
  total: number;
}

/** Reviewed / total over the loaded queue's stretches. */
export function progressOf(queue: ReviewQueue, marks: readonly ReviewMark[], step: number): QueueProgress {
  const reviewed = queue.items.filter((i) => markOf(i, marks, queue, step) !== undefined).length;
  return { reviewed, total: queue.items.length };
}

/** The stretches still to review, best first: not reviewed and not skipped this session. */
export function pendingItems(queue: ReviewQueue, marks: readonly ReviewMark[], skipped: ReadonlySet<string>, step: number): ReviewItem[] {
  return queue.items.filter((i) => !skipped.has(itemKey(i)) && markOf(i, marks, queue, step) === undefined);
}

/**
 * The stretch as a prediction, for the existing "review a prediction" and "not a pattern" paths
 * (hooks/useAnnotations): they save `model_prediction` from it.
 */
export function predictionSpanOf(item: ReviewItem, queue: Pick<ReviewQueue, 'pair' | 'timeframe' | 'model_version'>): PredictionSpan {
  return {
    id: `${queue.pair}|${queue.timeframe}|${item.start_time}|${item.prediction}`,
    pair: queue.pair,
    timeframe: queue.timeframe,
    label: item.prediction,
    start_time: item.start_time,
    end_time: item.end_time,
    confidence: Math.min(1, Math.max(0, item.confidence)),
    model_version: queue.model_version,
  };
}

/** One step of the session, newest last: what undo takes back. */
export type HistoryEntry =
  | { kind: 'skip'; key: string }
  | { kind: 'answer'; key: string; action: ReviewAction; annotationId: string; markId: string };

export interface Session {
  skipped: ReadonlySet<string>;
  history: readonly HistoryEntry[];
}

export const emptySession: Session = { skipped: new Set(), history: [] };

export function skip(session: Session, item: ReviewItem): Session {
  const key = itemKey(item);
  return { skipped: new Set([...session.skipped, key]), history: [...session.history, { kind: 'skip', key }] };
}

export function answered(session: Session, item: ReviewItem, action: ReviewAction, annotationId: string, markId: string): Session {
  return { ...session, history: [...session.history, { kind: 'answer', key: itemKey(item), action, annotationId, markId }] };
}

/**
 * The session without the answer that made mark `markId` (its undo ran, from the panel's `u` or
 * from Ctrl+Z: one history, hooks/useUndo). Unchanged when there is none.
 */
export function forgetAnswer(session: Session, markId: string): Session {
  const history = session.history.filter((h) => h.kind !== 'answer' || h.markId !== markId);
  return history.length === session.history.length ? session : { ...session, history };
}

/** The session with the answer of `mark` as its newest step (a redo made it again). */
export function rememberAnswer(session: Session, mark: ReviewMark): Session {
  if (!mark.annotation_id || session.history.some((h) => h.kind === 'answer' && h.markId === mark.id)) return session;
  const step: HistoryEntry = { kind: 'answer', key: itemKey(mark), action: mark.action, annotationId: mark.annotation_id, markId: mark.id };
  return { ...session, history: [...session.history, step] };
}

/**
 * What the panel's `u` does: take back the newest skip, or the newest answer, but only through
 * the one undo history and only while that answer is the change it undoes next (`lastMarkId`:
 * the review mark of the history's newest entry), so `u` and Ctrl+Z never take back the same
 * answer twice or out of order. 'blocked' when newer changes come first.
 */
export function panelUndo(session: Session, lastMarkId: string | null | undefined): 'skip' | 'answer' | 'blocked' | null {
  const last = session.history.at(-1);
  if (!last) return null;
  if (last.kind === 'skip') return 'skip';
  return last.markId === lastMarkId ? 'answer' : 'blocked';
}

/** The session without its last step, and that step (null when there is nothing to undo). */
export function undo(session: Session): { session: Session; entry: HistoryEntry | null } {
  const entry = session.history.at(-1) ?? null;
  if (!entry) return { session, entry: null };
  const skipped = new Set(session.skipped);
  if (entry.kind === 'skip') skipped.delete(entry.key);
  return { session: { skipped, history: session.history.slice(0, -1) }, entry };
}

/** "double_top 82%", or "no pattern (pattern ≤ 30%)" for O. */
export function describePrediction(item: ReviewItem): string {
  const pct = `${Math.round(Math.min(1, Math.max(0, item.confidence)) * 100)}%`;
  return item.prediction === NEGATIVE_LABEL ? `no pattern (best pattern ${pct})` : `${item.prediction} ${pct}`;
}
