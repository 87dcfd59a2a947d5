'use client';

/**
 * The review panel's state: the partition's queue (GET /api/review-queue, kept when a reload
 * fails: the service may be down), its review marks (GET /api/review-marks: the web's database),
 * the session (skips, undo history) and the stretch being answered.
 *
 * Answers go through the annotation paths that already exist (hooks/useAnnotations): `x` is the
 * "Not a pattern" of a prediction (`dismissPrediction`), `a` and `e` open the stretch as a
 * prediction to review (`spanChosen`); `a` saves it at once with the model's label, `e` leaves
 * the dialog to the annotator. The saved annotation shows up in the annotation list; then the
 * stretch is marked reviewed (POST /api/review-marks), and the mark joins the annotation's undo
 * entry (hooks/useUndo `attachReview`): Ctrl+Z, the toast's "Undo" and the panel's `u` take back
 * both in one step, Ctrl+Shift+Z does both again; the marks shown follow (`subscribe`). `u`
 * takes back the panel's newest step: a skip here, an answer through that one history.
 */
import { useCallback, useEffect, useMemo, useRef, useState, type Dispatch } from 'react';
import { ApiRequestError, apiFetch } from '@/lib/api-client';
import {
  answered,
  emptySession,
  forgetAnswer,
  panelUndo,
  pendingItems,
  predictionSpanOf,
  progressOf,
  rememberAnswer,
  skip as skipItem,
  spansMatch,
  undo as undoStep,
  type QueueProgress,
  type ReviewAction,
  type ReviewItem,
  type ReviewMark,
  type ReviewQueue,
  type Session,
} from '@/lib/review-queue';
import { spanIndexRange, timeframeSeconds } from '@/lib/spans';
import type { SpanAnnotation } from '@/types';
import type { Annotations } from './useAnnotations';
import type { DialogAction, DialogState, PendingSpan } from './useAnnotationDialog';
import type { Selection } from './usePartitions';

export const QUEUE_LIMIT = 50;

/** How long an `a` or `e` pressed before the stretch's candles are on the chart waits for them. */
export const CANDLES_WAIT_MS = 15_000;

/** An `a` or `e` pressed while the chart was still loading the stretch's candles. */
interface Deferred {
  item: ReviewItem;
  action: ReviewAction;
}

/** An answer waiting for its annotation to appear in the list. */
interface Waiting {
  item: ReviewItem;
  action: ReviewAction;
  known: ReadonlySet<string>;
  pending: PendingSpan | null;
  /** The dialog showed our span (a, e), or the dismissal returned (x). */
  settled: boolean;
}

export interface ReviewQueueState {
  queue: ReviewQueue | null;
  current: ReviewItem | null;
  progress: QueueProgress;
  loading: boolean;
  /** Why the queue could not be (re)loaded; the loaded one stays. */
  queueError: string | null;
  /** An answer was given before the stretch's candles were on the chart: it goes through when they are. */
  waitingForCandles: boolean;
  /** Why an answer, a mark or an undo failed. */
  error: string | null;
  busy: boolean;
  canUndo: boolean;
  answer: (action: ReviewAction) => void;
  skip: () => void;
  undo: () => void;
  reload: () => void;
}

export interface ReviewQueueDeps {
  selection: Selection | null;
  times: readonly number[];
  store: Annotations;
  dialog: DialogState;
  dispatch: Dispatch<DialogAction>;
  /** Called when an answer is done, e.g. to give the panel its focus back. */
  onAnswered?: () => void;
}

export function useReviewQueue({ selection, times, store, dialog, dispatch, onAnswered }: ReviewQueueDeps): ReviewQueueState {
  const [queue, setQueue] = useState<ReviewQueue | null>(null);
  const [marks, setMarks] = useState<ReviewMark[]>([]);
  const [session, setSession] = useState<Session>(emptySession);
  const [loading, setLoading] = useState(false);
  const [queueError, setQueueError] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [waiting, setWaiting] = useState<Waiting | null>(null);
  const [undoing, setUndoing] = useState(false);
  const [deferred, setDeferred] = useState<Deferred | null>(null);
  const [reloads, setReloads] = useState(0);
  const step = timeframeSeconds(selection?.timeframe ?? '1h');

  // Another partition: its queue and marks replace these.
  const [shown, setShown] = useState(selection);
  if (shown !== selection) {
    setShown(selection);
    setQueue(null);
    setMarks([]);
    setSession(emptySession);
    setWaiting(null);
    setDeferred(null);
    setError(null);
    setQueueError(null);
    setLoading(selection !== null);
  }

  useEffect(() => {
    if (!selection) return;
    let cancelled = false;
    const q = new URLSearchParams(selection);
    apiFetch<ReviewMark[]>(`/api/review-marks?${q}`)
      .then((list) => !cancelled && setMarks(list))
      .catch((err: ApiRequestError) => !cancelled && setError(`Review marks: ${err.message}`));
    q.set('limit', String(QUEUE_LIMIT));
    apiFetch<ReviewQueue>(`/api/review-queue?${q}`)
      .then((loaded) => {
        if (cancelled) return;
        setQueue(loaded);
        setQueueError(null);
      })
      // The queue already loaded stays: the service may only be down for a while.
      .catch((err: ApiRequestError) => !cancelled && setQueueError(err.message))
      .finally(() => !cancelled && setLoading(false));
    return () => {
      cancelled = true;
    };
  }, [selection, reloads]);

  const pending = useMemo(() => (queue ? pendingItems(queue, marks, session.skipped, step) : []), [queue, marks, session.skipped, step]);
  const current = pending[0] ?? null;
  const progress = useMemo(() => (queue ? progressOf(queue, marks, step) : { reviewed: 0, total: 0 }), [queue, marks, step]);

  const onAnsweredRef = useRef(onAnswered);
  useEffect(() => {
    onAnsweredRef.current = onAnswered;
  });

  // An answer is followed through in order: the dialog holds its span (a: saved at once with the
  // model's label, through the dialog's own save); its annotation appears in the list (the stretch
  // is marked reviewed); or the dialog closed, or the dismissal came back, without one (it is off).
  const { annotations, save, dbError } = store;
  const created = waiting ? annotations.find((a) => !waiting.known.has(a.id) && spansMatch(a, waiting.item, step)) : undefined;
  if (waiting?.pending && !waiting.settled && dialog.pending === waiting.pending) setWaiting({ ...waiting, settled: true });
  if (waiting?.pending && waiting.settled && !created && dialog.pending !== waiting.pending && !dialog.saving) setWaiting(null);
  if (waiting && !waiting.pending && waiting.settled && !created) {
    setWaiting(null);
    setError(dbError ?? 'The answer was not saved.');
  }

  const savedFor = useRef<PendingSpan | null>(null);
  useEffect(() => {
    if (waiting?.action !== 'accept' || !waiting.settled || dialog.pending !== waiting.pending || savedFor.current === waiting.pending) return;
    savedFor.current = waiting.pending;
    void save({ label: waiting.item.prediction, confidence: 1, note: '' });
  }, [waiting, dialog.pending, save]);

  const { history } = store;
  const { attachReview, subscribe } = history;
  const markingFor = useRef<Waiting | null>(null);
  useEffect(() => {
    if (!waiting || !created || !queue || markingFor.current === waiting) return;
    markingFor.current = waiting;
    const { item, action } = waiting;
    void markReviewed(queue, item, action, created)
      .then(async (mark) => {
        if (!attachReview(created.id, mark)) {
          // The annotation was undone while the stretch was being marked: the mark goes too.
          await apiFetch<void>(`/api/review-marks?${new URLSearchParams({ id: mark.id })}`, { method: 'DELETE' });
          setError('The answer was undone before it was marked reviewed: the stretch stays in the queue.');
          return;
        }
        setMarks((list) => [...list, mark]);
        setSession((s) => answered(s, item, action, created.id, mark.id));
        setError(null);
      })
      .catch((err: Error) => setError(`Saved, but not marked reviewed: ${err.message}`))
      .finally(() => {
        setWaiting((w) => (w === waiting ? null : w));
        onAnsweredRef.current?.();
      });
  }, [waiting, created, queue, attachReview]);

  // An undo or redo (Ctrl+Z, Ctrl+Shift+Z, the toast, `u`) deleted or made a mark again.
  useEffect(
    () =>
      subscribe((event) => {
        const { mark } = event;
        if (!selection || mark.pair !== selection.pair || mark.timeframe !== selection.timeframe) return;
        if (event.type === 'deleted') {
          setMarks((list) => list.filter((m) => m.id !== mark.id));
          setSession((s) => forgetAnswer(s, mark.id));
        } else {
          setMarks((list) => [...list.filter((m) => m.id !== mark.id), mark]);
          setSession((s) => rememberAnswer(s, mark));
        }
      }),
    [subscribe, selection],
  );

  const { dismissPrediction } = store;
  const begin = useCallback(
    (action: ReviewAction) => {
      if (!queue || !current || waiting || undoing) return;
      setDeferred(null);
      setError(null);
      const known = new Set(annotations.map((a) => a.id));
      const prediction = predictionSpanOf(current, queue);
      if (action === 'dismiss') {
        const answer: Waiting = { item: current, action, known, pending: null, settled: false };
        setWaiting(answer);
        void dismissPrediction(prediction, false).then(() => setWaiting((w) => (w === answer ? { ...w, settled: true } : w)));
        return;
      }
      const range = spanIndexRange(times, current.start_time, current.end_time);
      if (!range) {
        // The chart is still loading the stretch's candles (it jumps there as the stretch shows):
        // the answer goes through once they are drawn.
        setDeferred({ item: current, action });
        return;
      }
      const span: PendingSpan = { ...range, start_time: current.start_time, end_time: current.end_time, prediction };
      setWaiting({ item: current, action, known, pending: span, settled: false });
      dispatch({ type: 'spanChosen', span });
    },
    [queue, current, waiting, undoing, annotations, times, dismissPrediction, dispatch],
  );
  const answer = useCallback(
    (action: ReviewAction) => {
      if (!deferred) begin(action);
    },
    [deferred, begin],
  );

  if (deferred && deferred.item !== current) setDeferred(null);
  // A deferred answer: given as soon as the stretch's candles arrive, dropped when another stretch
  // shows, and reported when the candles have not come within CANDLES_WAIT_MS.
  const deferredReady = deferred !== null && spanIndexRange(times, deferred.item.start_time, deferred.item.end_time) !== null;
  useEffect(() => {
    if (!deferred || deferred.item !== current) return;
    if (deferredReady) {
      // the candles came in (an outside event): the answer the annotator already gave goes through
      // eslint-disable-next-line react-hooks/set-state-in-effect
      begin(deferred.action);
      return;
    }
    const timer = setTimeout(() => {
      setDeferred((d) => (d === deferred ? null : d));
      setError('The stretch is not on the chart yet: wait for its candles to load, then answer again.');
    }, CANDLES_WAIT_MS);
    return () => clearTimeout(timer);
  }, [deferred, deferredReady, current, begin]);

  const skip = useCallback(() => {
    if (current && !waiting) setSession((s) => skipItem(s, current));
  }, [current, waiting]);

  const lastMarkId = history.lastChange?.review?.id;
  const { undo: undoChange } = history;
  const undo = useCallback(() => {
    if (waiting || undoing) return;
    const what = panelUndo(session, lastMarkId);
    if (what === 'skip') setSession(undoStep(session).session);
    else if (what === 'blocked') setError('Newer changes came after this answer: take them back first with Ctrl+Z.');
    else if (what === 'answer') {
      setUndoing(true);
      setError(null);
      // The marks and the session follow through `subscribe`.
      void undoChange()
        .then((failed) => failed && setError(`Undo failed: ${failed}`))
        .finally(() => setUndoing(false));
    }
  }, [waiting, undoing, session, lastMarkId, undoChange]);

  const undoable = panelUndo(session, lastMarkId);
  const reload = useCallback(() => {
    setLoading(true);
    setReloads((n) => n + 1);
  }, []);

  return {
    queue,
    current,
    progress,
    loading,
    queueError,
    error,
    waitingForCandles: deferred !== null,
    busy: waiting !== null || undoing || deferred !== null,
    canUndo: (undoable === 'skip' || undoable === 'answer') && !waiting && !undoing && !deferred && !history.busy,
    answer,
    skip,
    undo,
    reload,
  };
}

async function markReviewed(queue: ReviewQueue, item: ReviewItem, action: ReviewAction, created: SpanAnnotation): Promise<ReviewMark> {
  return apiFetch<ReviewMark>('/api/review-marks', {
    method: 'POST',
    body: JSON.stringify({
      pair: queue.pair,
      timeframe: queue.timeframe,
      start_time: item.start_time,
      end_time: item.end_time,
      fingerprint: item.fingerprint,
      action,
      annotation_id: created.id,
      model_version: queue.model_version,
    }),
  });
}
