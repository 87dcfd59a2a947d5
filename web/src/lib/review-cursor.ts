/**
 * The review cursor over the disagreements: which one is current, where the review starts and
 * where it goes after a step or an action. Pure (the workbench keeps the state).
 *
 * - The list is ordered by start time (`ordered`).
 * - With no current one yet, the review starts at the view: the first disagreement that starts
 *   at or after the first candle in view (else the last one before it).
 * - The cursor remembers the current one's id and start time: when that one leaves the list
 *   (accepted, dismissed, annotated), the current becomes the next one at or after that time,
 *   so the review moves on by itself.
 * - `page` is the slice of the list shown around the current one (`PAGE_SIZE` a page, default 50),
 *   so a long list needs no cap.
 */
export interface CursorItem {
  id: string;
  start_time: number;
}

export interface ReviewCursor {
  id: string;
  time: number;
}

export const PAGE_SIZE = 50;

/** `items` by start time, then id (stable). */
export function ordered<T extends CursorItem>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => a.start_time - b.start_time || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Index (into `list`, ordered) of the first item at or after `time`; the last item when none is; -1 for an empty list. */
function atOrAfter(list: readonly CursorItem[], time: number): number {
  if (!list.length) return -1;
  const i = list.findIndex((x) => x.start_time >= time);
  return i >= 0 ? i : list.length - 1;
}

/**
 * Index of the current item in `list` (ordered): the cursor's own, else the next one at or
 * after its time, else (no cursor) the first at or after `viewStart` (seconds; null: the first).
 */
export function currentIndex(list: readonly CursorItem[], cursor: ReviewCursor | null, viewStart: number | null): number {
  if (!list.length) return -1;
  if (cursor) {
    const own = list.findIndex((x) => x.id === cursor.id);
    return own >= 0 ? own : atOrAfter(list, cursor.time);
  }
  return viewStart === null ? 0 : atOrAfter(list, viewStart);
}

/** The cursor one step on (`+1`, next) or back (`-1`, previous), staying inside the list; null for an empty list. */
export function step(list: readonly CursorItem[], cursor: ReviewCursor | null, viewStart: number | null, by: 1 | -1): ReviewCursor | null {
  const i = currentIndex(list, cursor, viewStart);
  if (i < 0) return null;
  // No cursor yet: the item the review starts at is the current one (and shown as such).
  const j = Math.max(0, Math.min(list.length - 1, i + by));
  return { id: list[j].id, time: list[j].start_time };
}

/** The page of `list` holding index `i`: `{ from, to }` (to exclusive), `size` items a page. */
export function page(length: number, i: number, size = PAGE_SIZE): { from: number; to: number } {
  if (length <= 0) return { from: 0, to: 0 };
  const k = Math.max(0, Math.min(length - 1, i));
  const from = Math.floor(k / size) * size;
  return { from, to: Math.min(length, from + size) };
}
