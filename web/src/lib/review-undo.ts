/**
 * A review-queue answer as one undo step (issue 17). An answer saves an annotation and then a
 * review mark (POST /api/review-marks); `attachReview` puts the mark into the history entry the
 * annotation made, so Ctrl+Z, Ctrl+Shift+Z, the toast's "Undo" and the panel's `u` take back or
 * do again both, through the API:
 *
 * - undo: delete the mark, then take back the annotation (its own undo call, lib/undo.ts);
 * - redo: do the annotation again (a new id), then mark the stretch again with that id (a new
 *   mark id);
 * - when the second call fails, the first is taken back, so the database is never left with
 *   half an answer (the annotation without its mark, or the reverse): the history stays as it
 *   was and the error says why.
 *
 * `runStep` runs one step with the calls it is given (`StepIO`); it is pure otherwise.
 */
import type { ReviewMark } from './review-queue';
import { inverseCall, redoCall, remapId, type UndoCall, type UndoEntry, type UndoHistory } from './undo';
import type { SpanAnnotation } from '@/types';

export type Direction = 'undo' | 'redo';

/** One call to /api/review-marks. */
export type ReviewMarkCall = { method: 'POST'; url: string; body: Record<string, unknown> } | { method: 'DELETE'; url: string; id: string };

/** What a step changed in the review marks (the queue panel follows it). */
export type MarkEvent = { type: 'deleted'; mark: ReviewMark } | { type: 'created'; mark: ReviewMark };

/** The calls a step makes: the annotation store's (its `apply`) and the review marks'. */
export interface StepIO {
  /** Sends an annotation call; answers the span a POST created (null otherwise). A DELETE of a span already gone is not an error. */
  annotation: (call: UndoCall) => Promise<SpanAnnotation | null>;
  /** Sends a review-mark call; answers the mark a POST created (null otherwise). A DELETE of a mark already gone is not an error. */
  mark: (call: ReviewMarkCall) => Promise<ReviewMark | null>;
  /** Told after each review-mark change (also the ones of a rollback). */
  onMark?: (event: MarkEvent) => void;
}

/** An id the database gave again: a span created again, or a mark made again. */
export type Remap = { kind: 'annotation'; oldId: string; span: SpanAnnotation } | { kind: 'mark'; oldId: string; mark: ReviewMark };

export interface StepOutcome {
  /** The entry with the ids it has now. */
  entry: UndoEntry;
  /** Ids given again: apply them to the whole history (`applyRemaps`), also after an error. */
  remaps: Remap[];
  /** Null when the step was done; else why not (the parts done were taken back, unless it says otherwise). */
  error: Error | null;
}

/** The kinds of entry an answer makes: the annotation it created. */
const ANSWER_KINDS = new Set<UndoEntry['kind']>(['create', 'accept', 'dismiss']);

/**
 * `history` with `mark` part of the entry that created annotation `annotationId` (still done,
 * in `past`), or null when there is no such entry (it was undone, or dropped).
 */
export function attachReview(history: UndoHistory, annotationId: string, mark: ReviewMark): UndoHistory | null {
  const at = history.past.findLastIndex((e) => ANSWER_KINDS.has(e.kind) && e.after?.id === annotationId);
  if (at < 0) return null;
  const past = history.past.map((e, i) => (i === at ? { ...e, review: mark } : e));
  return { ...history, past };
}

/** The parts of a step, in the order they run: undo takes the mark back first, redo makes it last. */
export function stepParts(entry: UndoEntry, direction: Direction): Array<'annotation' | 'mark'> {
  if (!entry.review) return ['annotation'];
  return direction === 'undo' ? ['mark', 'annotation'] : ['annotation', 'mark'];
}

/** The review-mark call of a step: undo deletes the mark, redo makes it again for the entry's (current) annotation. */
export function markCall(entry: UndoEntry, direction: Direction): ReviewMarkCall {
  const mark = entry.review;
  if (!mark) throw new Error(`undo entry "${entry.kind}": it has no review mark`);
  if (direction === 'undo') return { method: 'DELETE', url: `/api/review-marks?${new URLSearchParams({ id: mark.id })}`, id: mark.id };
  return {
    method: 'POST',
    url: '/api/review-marks',
    body: {
      pair: mark.pair,
      timeframe: mark.timeframe,
      start_time: mark.start_time,
      end_time: mark.end_time,
      fingerprint: mark.fingerprint,
      action: mark.action,
      annotation_id: entry.after?.id ?? mark.annotation_id,
      model_version: mark.model_version,
    },
  };
}

/** `history` with the mark `oldId` (made again) known as `mark` in every entry. */
export function remapMark(history: UndoHistory, oldId: string, mark: ReviewMark): UndoHistory {
  const map = (list: UndoEntry[]) => list.map((e) => (e.review?.id === oldId ? { ...e, review: mark } : e));
  return { past: map(history.past), future: map(history.future) };
}

/** `history` with every id given again. */
export function applyRemaps(history: UndoHistory, remaps: readonly Remap[]): UndoHistory {
  return remaps.reduce((h, r) => (r.kind === 'annotation' ? remapId(h, r.oldId, r.span) : remapMark(h, r.oldId, r.mark)), history);
}

const opposite = (d: Direction): Direction => (d === 'undo' ? 'redo' : 'undo');

/** Runs one undo or redo of `entry`: its parts in order, the done ones taken back when a later one fails. */
export async function runStep(entry: UndoEntry, direction: Direction, io: StepIO): Promise<StepOutcome> {
  let current = entry;
  const remaps: Remap[] = [];

  const runPart = async (part: 'annotation' | 'mark', dir: Direction) => {
    if (part === 'annotation') {
      const call = dir === 'undo' ? inverseCall(current) : redoCall(current);
      const created = await io.annotation(call);
      if (call.method === 'POST' && created) {
        const oldId = (current.before ?? current.after)!.id;
        remaps.push({ kind: 'annotation', oldId, span: created });
        current = remapId({ past: [current], future: [] }, oldId, created).past[0];
      }
      return;
    }
    const call = markCall(current, dir);
    const made = await io.mark(call);
    if (call.method === 'POST') {
      if (!made) throw new Error('the review mark was not created');
      remaps.push({ kind: 'mark', oldId: current.review!.id, mark: made });
      current = { ...current, review: made };
      io.onMark?.({ type: 'created', mark: made });
    } else io.onMark?.({ type: 'deleted', mark: current.review! });
  };

  const done: Array<'annotation' | 'mark'> = [];
  for (const part of stepParts(entry, direction)) {
    try {
      await runPart(part, direction);
      done.push(part);
    } catch (err) {
      for (const back of done.reverse()) {
        try {
          await runPart(back, opposite(direction));
        } catch (rollback) {
          const what = back === 'mark' ? 'review mark' : 'annotation';
          return {
            entry: current,
            remaps,
            error: new Error(`${(err as Error).message}; taking back the ${what} already done failed too: ${(rollback as Error).message}`),
          };
        }
      }
      return { entry: current, remaps, error: err as Error };
    }
  }
  return { entry: current, remaps, error: null };
}
