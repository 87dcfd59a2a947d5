/**
 * A review-queue answer as one undo step (issue 17): the history's compound entry (annotation +
 * review mark), and undo / redo of it run against the real route handlers and database (PGlite
 * and PostgreSQL): after undo the stretch is back in the queue, after redo it is reviewed again.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELETE as DELETE_ANNOTATION } from '@/app/api/span-annotations/[id]/route';
import { GET as ANNOTATIONS, POST as CREATE_ANNOTATION } from '@/app/api/span-annotations/route';
import { DELETE as DELETE_MARK, GET as MARKS, POST as CREATE_MARK } from '@/app/api/review-marks/route';
import { setAnnotationFactsLoader } from '@/lib/annotation-rules';
import { spanAnnotations } from '@/lib/db/schema';
import {
  emptySession,
  answered,
  forgetAnswer,
  panelUndo,
  pendingItems,
  progressOf,
  rememberAnswer,
  skip,
  type ReviewItem,
  type ReviewMark,
  type ReviewQueue,
  type Session,
} from '@/lib/review-queue';
import { applyRemaps, attachReview, markCall, runStep, stepParts, type MarkEvent, type ReviewMarkCall, type StepIO } from '@/lib/review-undo';
import { describe as describeEntry, emptyHistory, moveEntry, record, redo, undo, type UndoCall, type UndoEntry, type UndoHistory } from '@/lib/undo';
import type { SpanAnnotation } from '@/types';
import { installTestDb, TEST_DRIVERS, type TestDb } from './helpers/db';
import { jsonRequest, params } from './helpers/routes';

const H = 3600;
const T0 = 1_699_999_200; // on the hour
const item = (rank: number, start: number, prediction = 'bull_flag'): ReviewItem =>
  ({
    rank,
    start_time: start,
    end_time: start + 5 * H,
    prediction,
    confidence: 0.8,
    fingerprint: `${prediction}@${rank}`,
    reason: 'uncertain',
    score: 1,
    disagreement: null,
    reentered: false,
  }) as unknown as ReviewItem;
const queue = {
  pair: 'EURUSD',
  timeframe: '1h',
  model_version: 'v1',
  built_at: '2026-01-01T00:00:00Z',
  total: 2,
  items: [item(1, T0), item(2, T0 + 10 * H, 'double_top')],
} as unknown as ReviewQueue;

const span = (id: string, over: Partial<SpanAnnotation> = {}): SpanAnnotation => ({
  id,
  pair: 'EURUSD',
  timeframe: '1h',
  label: 'bull_flag',
  start_time: T0,
  end_time: T0 + 5 * H,
  confidence: 1,
  source: 'human',
  model_prediction: { label: 'bull_flag', confidence: 0.8, model_version: 'v1' },
  note: '',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});
const markFor = (id: string, annotationId: string, it = queue.items[0]): ReviewMark => ({
  id,
  pair: 'EURUSD',
  timeframe: '1h',
  start_time: it.start_time,
  end_time: it.end_time,
  fingerprint: it.fingerprint,
  action: 'accept',
  annotation_id: annotationId,
  model_version: 'v1',
  created_at: '2026-01-01T00:00:00Z',
});

describe('the undo history with a review-queue answer', () => {
  it('the mark joins the entry that created the annotation, which then undoes and redoes as one', () => {
    const draw: UndoEntry = { kind: 'create', before: null, after: span('drawn', { start_time: T0 + 20 * H, end_time: T0 + 22 * H }), id: 1 };
    const answer: UndoEntry = { kind: 'accept', before: null, after: span('a1'), id: 2 };
    const h = attachReview(record(record(emptyHistory, draw), answer), 'a1', markFor('m1', 'a1'))!;
    expect(h.past.map((e) => e.review?.id ?? null)).toEqual([null, 'm1']);
    expect(describeEntry(h.past[1])).toBe('Accepted bull_flag (review queue)');
    // One Ctrl+Z takes back the whole answer, the drawn span stays done.
    const u = undo(h)!;
    expect(u.entry.review?.id).toBe('m1');
    expect(u.history.past).toEqual([draw]);
    expect(stepParts(u.entry, 'undo')).toEqual(['mark', 'annotation']);
    expect(stepParts(u.entry, 'redo')).toEqual(['annotation', 'mark']);
    expect(stepParts(draw, 'undo')).toEqual(['annotation']);
    expect(redo(u.history)!.entry).toBe(u.entry);
  });

  it('refuses to attach a mark to an answer no longer done', () => {
    const answer: UndoEntry = { kind: 'dismiss', before: null, after: span('a1', { label: 'O' }), id: 1 };
    const undone = undo(record(emptyHistory, answer))!.history;
    expect(attachReview(undone, 'a1', markFor('m1', 'a1'))).toBeNull();
    expect(attachReview(emptyHistory, 'a1', markFor('m1', 'a1'))).toBeNull();
    // An edit or a delete of that span is not the answer.
    const edit: UndoEntry = { kind: 'edit', before: span('a1', { label: 'double_top' }), after: span('a1'), id: 2 };
    expect(attachReview(record(emptyHistory, edit), 'a1', markFor('m1', 'a1'))).toBeNull();
  });

  it('the mark calls: undo deletes it, redo makes it again for the annotation made again', () => {
    const entry: UndoEntry = { kind: 'accept', before: null, after: span('a-new'), review: markFor('m1', 'a-old'), id: 1 };
    expect(markCall(entry, 'undo')).toEqual({ method: 'DELETE', url: '/api/review-marks?id=m1', id: 'm1' });
    const again = markCall(entry, 'redo');
    expect(again).toMatchObject({ method: 'POST', url: '/api/review-marks' });
    expect(again.method === 'POST' && again.body).toEqual({
      pair: 'EURUSD',
      timeframe: '1h',
      start_time: T0,
      end_time: T0 + 5 * H,
      fingerprint: 'bull_flag@1',
      action: 'accept',
      annotation_id: 'a-new',
      model_version: 'v1',
    });
    expect(() => markCall({ ...entry, review: null }, 'undo')).toThrow(/no review mark/);
  });

  it('a step that finishes after another change moves its own entry, with the ids given again', () => {
    const answer: UndoEntry = { kind: 'accept', before: null, after: span('a1'), review: markFor('m1', 'a1'), id: 7 };
    const later: UndoEntry = { kind: 'create', before: null, after: span('b'), id: 8 };
    // Undone: answer left past while `later` was recorded.
    let h: UndoHistory = { past: [answer, later], future: [] };
    h = moveEntry(h, 7, 'undo');
    expect(h.past).toEqual([later]);
    expect(h.future.map((e) => e.id)).toEqual([7]);
    expect(moveEntry(h, 99, 'redo')).toBe(h);
    h = applyRemaps(h, [
      { kind: 'annotation', oldId: 'a1', span: span('a2') },
      { kind: 'mark', oldId: 'm1', mark: markFor('m2', 'a2') },
    ]);
    h = moveEntry(h, 7, 'redo');
    expect(h.past.map((e) => [e.id, e.after?.id, e.review?.id ?? null])).toEqual([
      [8, 'b', null],
      [7, 'a2', 'm2'],
    ]);
  });

  it("the panel's u follows the one history: never the same answer twice, never past a newer change", () => {
    let session: Session = answered(emptySession, queue.items[0], 'accept', 'a1', 'm1');
    session = answered(session, queue.items[1], 'dismiss', 'a2', 'm2');
    expect(panelUndo(session, 'm2')).toBe('answer');
    // Ctrl+Z (or u) took back m2: the session forgets it, u now takes back m1 only when it is next.
    session = forgetAnswer(session, 'm2');
    expect(panelUndo(session, 'm1')).toBe('answer');
    expect(panelUndo(session, undefined)).toBe('blocked'); // a newer change (no review mark) comes first
    // Redo made m2 again (a new id): it is the panel's newest step again, once.
    const again = markFor('m2b', 'a2b', queue.items[1]);
    session = rememberAnswer(rememberAnswer(session, again), again);
    expect(session.history.map((s) => (s.kind === 'answer' ? s.markId : s.key))).toEqual(['m1', 'm2b']);
    expect(panelUndo(skip(session, queue.items[0]), 'm2b')).toBe('skip');
    expect(panelUndo(emptySession, null)).toBeNull();
  });
});

/** The step's calls on the route handlers, as the browser's would reach them (404 on a DELETE is fine). */
function routeIO(events: MarkEvent[], fail: { annotation?: string } = {}): StepIO {
  const ok = async (res: Response) => {
    if (res.status === 404 || res.status === 204) return null;
    if (!res.ok) throw new Error(`${res.status}: ${(await res.json()).detail}`);
    return res.json();
  };
  return {
    annotation: async (call: UndoCall) => {
      if (fail.annotation) throw new Error(fail.annotation);
      if (call.method === 'DELETE') return ok(await DELETE_ANNOTATION(jsonRequest('DELETE', call.url), params({ id: call.id })));
      if (call.method !== 'POST') throw new Error(`no ${call.method} in these tests`);
      return ok(await CREATE_ANNOTATION(jsonRequest('POST', call.url, call.body)));
    },
    mark: async (call: ReviewMarkCall) =>
      ok(call.method === 'POST' ? await CREATE_MARK(jsonRequest('POST', call.url, call.body)) : await DELETE_MARK(jsonRequest('DELETE', call.url))),
    onMark: (e) => events.push(e),
  };
}

describe.each(TEST_DRIVERS)('undo and redo of a queue answer through the API on %s', (driver) => {
  let db: TestDb;
  const FIRST = T0 - 1000 * H;
  beforeAll(async () => {
    db = await installTestDb(driver);
    setAnnotationFactsLoader(async () => ({
      partitions: [{ pair: 'EURUSD', timeframe: '1h', first_time: FIRST, last_time: T0 + 1000 * H }],
      modelLabels: ['bull_flag', 'double_top'],
    }));
  });
  afterAll(async () => {
    setAnnotationFactsLoader(null);
    await db?.dispose();
  });
  beforeEach(async () => {
    await db.handle.db.delete(spanAnnotations);
    for (const m of await marks()) await DELETE_MARK(jsonRequest('DELETE', `/api/review-marks?id=${m.id}`));
  });

  const q = 'pair=EURUSD&timeframe=1h';
  const annotations = async (): Promise<SpanAnnotation[]> => (await ANNOTATIONS(jsonRequest('GET', `/api/span-annotations?${q}`))).json();
  const marks = async (): Promise<ReviewMark[]> => (await MARKS(jsonRequest('GET', `/api/review-marks?${q}`))).json();

  /** `a` on the first stretch as the panel does it: the annotation, then its mark, one entry. */
  async function answerFirst(): Promise<UndoHistory> {
    const it = queue.items[0];
    const res = await CREATE_ANNOTATION(
      jsonRequest('POST', '/api/span-annotations', {
        pair: 'EURUSD',
        timeframe: '1h',
        label: it.prediction,
        start_time: it.start_time,
        end_time: it.end_time,
        confidence: 1,
        source: 'human',
        model_prediction: { label: it.prediction, confidence: it.confidence, model_version: 'v1' },
      }),
    );
    expect(res.status).toBe(201);
    const created = (await res.json()) as SpanAnnotation;
    const h = record(emptyHistory, { kind: 'accept', before: null, after: created, id: 1 });
    const call = markCall({ kind: 'accept', before: null, after: created, review: markFor('x', created.id) }, 'redo');
    if (call.method !== 'POST') throw new Error('redo of a mark is a POST');
    const made = await CREATE_MARK(jsonRequest('POST', '/api/review-marks', call.body));
    expect(made.status).toBe(201);
    return attachReview(h, created.id, (await made.json()) as ReviewMark)!;
  }

  it('undo takes back annotation and mark (the stretch is back in the queue); redo puts both back', async () => {
    let h = await answerFirst();
    expect(progressOf(queue, await marks(), H)).toEqual({ reviewed: 1, total: 2 });

    const events: MarkEvent[] = [];
    const u = undo(h)!;
    const undone = await runStep(u.entry, 'undo', routeIO(events));
    expect(undone.error).toBeNull();
    h = moveEntry(applyRemaps(h, undone.remaps), 1, 'undo');
    expect(await annotations()).toEqual([]);
    expect(await marks()).toEqual([]);
    expect(pendingItems(queue, await marks(), new Set(), H).map((i) => i.rank)).toEqual([1, 2]);
    expect(progressOf(queue, await marks(), H)).toEqual({ reviewed: 0, total: 2 });
    expect(events).toEqual([{ type: 'deleted', mark: u.entry.review }]);

    const r = redo(h)!;
    const redone = await runStep(r.entry, 'redo', routeIO(events));
    expect(redone.error).toBeNull();
    h = moveEntry(applyRemaps(h, redone.remaps), 1, 'redo');
    const [again] = await annotations();
    const [mark] = await marks();
    expect(again).toMatchObject({ label: 'bull_flag', start_time: T0, model_prediction: { label: 'bull_flag' } });
    expect(again.id).not.toBe(u.entry.after!.id);
    expect(mark).toMatchObject({ annotation_id: again.id, fingerprint: 'bull_flag@1', action: 'accept' });
    expect(mark.id).not.toBe(u.entry.review!.id);
    expect(events.at(-1)).toEqual({ type: 'created', mark });
    expect(progressOf(queue, await marks(), H)).toEqual({ reviewed: 1, total: 2 });
    // The history knows the new ids: a second undo deletes what the redo made.
    expect(h.past[0]).toMatchObject({ after: { id: again.id }, review: { id: mark.id } });
    expect((await runStep(undo(h)!.entry, 'undo', routeIO([]))).error).toBeNull();
    expect(await annotations()).toEqual([]);
    expect(await marks()).toEqual([]);
  });

  it('when the annotation call fails the mark is put back: never half an answer', async () => {
    const h = await answerFirst();
    const events: MarkEvent[] = [];
    const { entry } = undo(h)!;
    const out = await runStep(entry, 'undo', routeIO(events, { annotation: 'The web server did not answer' }));
    expect(out.error?.message).toBe('The web server did not answer');
    const [annotation] = await annotations();
    const [mark] = await marks();
    expect(annotation.id).toBe(entry.after!.id);
    expect(mark).toMatchObject({ annotation_id: annotation.id, fingerprint: 'bull_flag@1' });
    expect(events.map((e) => e.type)).toEqual(['deleted', 'created']);
    // The history stays (the answer still done), with the mark's new id.
    const kept = applyRemaps(h, out.remaps);
    expect(kept.past).toHaveLength(1);
    expect(kept.past[0].review?.id).toBe(mark.id);
    expect(progressOf(queue, await marks(), H)).toEqual({ reviewed: 1, total: 2 });
  });
});
