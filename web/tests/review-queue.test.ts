import { describe, expect, it } from 'vitest';
import {
  describePrediction,
  emptySession,
  answered,
  itemKey,
  keyCommand,
  markOf,
  pendingItems,
  predictionSpanOf,
  progressOf,
  skip,
  spansMatch,
  undo,
  type ReviewItem,
  type ReviewMark,
  type ReviewQueue,
} from '@/lib/review-queue';

const H = 3600;
const T0 = 1_700_000_000 - (1_700_000_000 % H);

function item(rank: number, start: number, end: number, prediction = 'bull_flag', confidence = 0.8): ReviewItem {
  return {
    rank,
    start: start,
    end: end,
    start_time: T0 + start * H,
    end_time: T0 + end * H,
    score: 2 - rank / 10,
    components: { uncertainty: 0.5, disagreement: 0, conflict: 0, coverage: 1 },
    reason: 'coverage',
    source: 'predicted',
    prediction,
    confidence,
    predicted_start: start,
    predicted_end: end,
    disagreement: null,
    fingerprint: `${prediction}@${(Math.floor(confidence / 0.25) * 0.25).toFixed(2)}`,
    reentered: false,
  };
}

const queue: ReviewQueue = {
  pair: 'EURUSD',
  timeframe: '1h',
  built_at: '2026-11-29T03:00:00Z',
  model_version: 'v7',
  annotations_hash: 'h',
  n_candles: 1000,
  total: 3,
  weights: { uncertainty: 1, disagreement: 1, conflict: 0.5, coverage: 0.5 },
  items: [item(1, 100, 110), item(2, 200, 204, 'O', 0.2), item(3, 300, 300, 'double_top', 0.55)],
};

function mark(it: ReviewItem, overrides: Partial<ReviewMark> = {}): ReviewMark {
  return {
    id: `m-${it.rank}`,
    pair: 'EURUSD',
    timeframe: '1h',
    start_time: it.start_time,
    end_time: it.end_time,
    fingerprint: it.fingerprint,
    action: 'accept',
    annotation_id: 'a',
    model_version: 'v7',
    created_at: '2026-11-29T03:01:00Z',
    ...overrides,
  };
}

describe('keys', () => {
  it('maps a x e s u, and nothing with a modifier', () => {
    expect(['a', 'x', 'e', 's', 'u', 'A'].map((key) => keyCommand({ key }))).toEqual(['accept', 'dismiss', 'edit', 'skip', 'undo', 'accept']);
    expect(keyCommand({ key: 'a', ctrlKey: true })).toBeNull();
    expect(keyCommand({ key: 'u', metaKey: true })).toBeNull();
    expect(keyCommand({ key: 'q' })).toBeNull();
    expect(keyCommand({ key: '1' })).toBeNull();
  });
});

describe('matching marks to stretches', () => {
  it('needs more than half of the shorter span shared, counting the last candle', () => {
    const a = { start_time: T0, end_time: T0 + 9 * H }; // 10 candles
    expect(spansMatch(a, { start_time: T0 + 4 * H, end_time: T0 + 20 * H }, H)).toBe(true); // 6 of 10 shared
    expect(spansMatch(a, { start_time: T0 + 5 * H, end_time: T0 + 20 * H }, H)).toBe(false); // 5 of 10: not more than half
    expect(spansMatch(a, { start_time: T0 + 10 * H, end_time: T0 + 12 * H }, H)).toBe(false); // touching, not sharing
    expect(spansMatch({ start_time: T0, end_time: T0 }, { start_time: T0, end_time: T0 }, H)).toBe(true); // one candle
  });

  it('a mark hides its stretch only with the same fingerprint and partition', () => {
    const first = queue.items[0];
    expect(markOf(first, [mark(first)], queue, H)?.id).toBe('m-1');
    expect(markOf(first, [mark(first, { fingerprint: 'bull_flag@0.50' })], queue, H)).toBeUndefined(); // the model changed its answer
    expect(markOf(first, [mark(first, { timeframe: '4h' })], queue, H)).toBeUndefined();
  });
});

describe('pending items and progress', () => {
  it('leaves out reviewed and skipped stretches, in rank order', () => {
    const [first, second, third] = queue.items;
    const session = skip(emptySession, second);
    expect(pendingItems(queue, [mark(first)], session.skipped, H).map((i) => i.rank)).toEqual([3]);
    expect(pendingItems(queue, [], emptySession.skipped, H)).toEqual([first, second, third]);
    expect(progressOf(queue, [mark(first), mark(third)], H)).toEqual({ reviewed: 2, total: 3 });
    expect(progressOf(queue, [mark(first, { fingerprint: 'x@0.00' })], H)).toEqual({ reviewed: 0, total: 3 });
  });
});

describe('undo', () => {
  it('takes back the last step: a skip brings its stretch back, an answer hands back its ids', () => {
    const [first, second] = queue.items;
    let session = answered(emptySession, first, 'accept', 'ann-1', 'mark-1');
    session = skip(session, second);
    expect(session.skipped.has(itemKey(second))).toBe(true);
    const once = undo(session);
    expect(once.entry).toEqual({ kind: 'skip', key: itemKey(second) });
    expect(once.session.skipped.has(itemKey(second))).toBe(false);
    const twice = undo(once.session);
    expect(twice.entry).toEqual({ kind: 'answer', key: itemKey(first), action: 'accept', annotationId: 'ann-1', markId: 'mark-1' });
    expect(twice.session.history).toEqual([]);
    expect(undo(twice.session).entry).toBeNull();
  });
});

describe('the stretch as a prediction', () => {
  it('carries the model version and a clamped confidence for model_prediction', () => {
    const p = predictionSpanOf({ ...queue.items[0], confidence: 1.2 }, queue);
    expect(p).toMatchObject({ pair: 'EURUSD', timeframe: '1h', label: 'bull_flag', confidence: 1, model_version: 'v7' });
    expect(p.start_time).toBe(queue.items[0].start_time);
    expect(describePrediction(queue.items[0])).toBe('bull_flag 80%');
    expect(describePrediction(queue.items[1])).toBe('no pattern (best pattern 20%)');
  });
});
