import { describe, expect, it } from 'vitest';
import { currentIndex, ordered, page, step } from '@/lib/review-cursor';

const items = ordered([
  { id: 'c', start_time: 300 },
  { id: 'a', start_time: 100 },
  { id: 'b', start_time: 200 },
  { id: 'd', start_time: 400 },
]);

describe('review cursor', () => {
  it('orders by start time', () => {
    expect(items.map((x) => x.id)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('starts at the view: the first disagreement at or after the first candle in view', () => {
    expect(currentIndex(items, null, 150)).toBe(1);
    expect(currentIndex(items, null, 50)).toBe(0);
    expect(currentIndex(items, null, 999)).toBe(3);
    expect(currentIndex(items, null, null)).toBe(0);
    expect(currentIndex([], null, 0)).toBe(-1);
    // The start (c, the first at or after 250) is the current one: n goes on from it, p back.
    expect(step(items, null, 250, 1)).toEqual({ id: 'd', time: 400 });
    expect(step(items, null, 250, -1)).toEqual({ id: 'b', time: 200 });
  });

  it('steps next and previous inside the list', () => {
    expect(step(items, { id: 'b', time: 200 }, null, 1)).toEqual({ id: 'c', time: 300 });
    expect(step(items, { id: 'b', time: 200 }, null, -1)).toEqual({ id: 'a', time: 100 });
    expect(step(items, { id: 'd', time: 400 }, null, 1)).toEqual({ id: 'd', time: 400 });
    expect(step(items, { id: 'a', time: 100 }, null, -1)).toEqual({ id: 'a', time: 100 });
    expect(step([], null, null, 1)).toBeNull();
  });

  it('moves on when the current one leaves the list (accepted or dismissed)', () => {
    const after = items.filter((x) => x.id !== 'b');
    expect(after[currentIndex(after, { id: 'b', time: 200 }, 0)].id).toBe('c');
    const lastGone = items.filter((x) => x.id !== 'd');
    expect(lastGone[currentIndex(lastGone, { id: 'd', time: 400 }, 0)].id).toBe('c');
  });

  it('pages hold the current one, with no cap on the list', () => {
    expect(page(666, 0, 50)).toEqual({ from: 0, to: 50 });
    expect(page(666, 620, 50)).toEqual({ from: 600, to: 650 });
    expect(page(666, 665, 50)).toEqual({ from: 650, to: 666 });
    expect(page(0, 3)).toEqual({ from: 0, to: 0 });
  });
});
