import { describe, expect, it } from 'vitest';
import {
  canRedo,
  canUndo,
  describe as describeEntry,
  emptyHistory,
  inverseCall,
  isDestructive,
  record,
  redo,
  redoCall,
  remapId,
  undo,
  type UndoEntry,
} from '@/lib/undo';
import type { SpanAnnotation } from '@/types';

const span = (id: string, over: Partial<SpanAnnotation> = {}): SpanAnnotation => ({
  id,
  pair: 'EURUSD',
  timeframe: '1h',
  label: 'bull_flag',
  start_time: 3600,
  end_time: 7200,
  confidence: 1,
  source: 'human',
  model_prediction: null,
  note: '',
  created_at: '2026-01-01T00:00:00Z',
  updated_at: '2026-01-01T00:00:00Z',
  ...over,
});

describe('undo history', () => {
  it('undoes the last change first and redoes in the order undone', () => {
    const a: UndoEntry = { kind: 'create', before: null, after: span('a') };
    const b: UndoEntry = { kind: 'delete', before: span('b'), after: null };
    let h = record(record(emptyHistory, a), b);
    expect(canUndo(h) && !canRedo(h)).toBe(true);
    const u1 = undo(h)!;
    expect(u1.entry).toBe(b);
    const u2 = undo(u1.history)!;
    expect(u2.entry).toBe(a);
    expect(undo(u2.history)).toBeNull();
    const r1 = redo(u2.history)!;
    expect(r1.entry).toBe(a);
    h = r1.history;
    expect(h.past).toEqual([a]);
    expect(h.future).toEqual([b]);
  });

  it('a new change clears the redo side; the history keeps at most `limit` entries', () => {
    const e = (id: string): UndoEntry => ({ kind: 'create', before: null, after: span(id) });
    const undone = undo(record(emptyHistory, e('a')))!.history;
    expect(canRedo(undone)).toBe(true);
    expect(canRedo(record(undone, e('b')))).toBe(false);
    let h = emptyHistory;
    for (const id of ['1', '2', '3', '4']) h = record(h, e(id), 3);
    expect(h.past.map((x) => x.after!.id)).toEqual(['2', '3', '4']);
  });

  it('refuses an entry without the span it needs, naming it', () => {
    expect(() => record(emptyHistory, { kind: 'edit', before: null, after: span('a') })).toThrow(/"before"/);
    expect(() => record(emptyHistory, { kind: 'accept', before: null, after: null })).toThrow(/"after"/);
  });
});

describe('undo calls go through the API', () => {
  it('create, accept and dismiss: undo deletes, redo creates again with the same fields', () => {
    for (const kind of ['create', 'accept', 'dismiss'] as const) {
      const after = span('x', { label: kind === 'dismiss' ? 'O' : 'bull_flag', source: 'human_correction', note: 'n' });
      const entry: UndoEntry = { kind, before: null, after };
      expect(inverseCall(entry)).toEqual({ method: 'DELETE', url: '/api/span-annotations/x', id: 'x' });
      const again = redoCall(entry);
      expect(again.method).toBe('POST');
      expect(again.method === 'POST' && again.body).toMatchObject({ label: after.label, source: 'human_correction', note: 'n', start_time: 3600 });
      expect(again.method === 'POST' && 'id' in again.body).toBe(false);
    }
  });

  it('edit: undo writes the former values back, redo the new ones', () => {
    const entry: UndoEntry = { kind: 'edit', before: span('e', { label: 'double_top', end_time: 10800 }), after: span('e') };
    expect(inverseCall(entry)).toEqual({
      method: 'PATCH',
      url: '/api/span-annotations/e',
      body: { label: 'double_top', confidence: 1, note: '', start_time: 3600, end_time: 10800 },
    });
    const r = redoCall(entry);
    expect(r.method === 'PATCH' && r.body.label).toBe('bull_flag');
  });

  it('delete: undo creates the span again, and its new id reaches every entry', () => {
    const d: UndoEntry = { kind: 'delete', before: span('old'), after: null };
    const edit: UndoEntry = { kind: 'edit', before: span('old', { label: 'double_top' }), after: span('old') };
    expect(inverseCall(d).method).toBe('POST');
    expect(redoCall(d)).toEqual({ method: 'DELETE', url: '/api/span-annotations/old', id: 'old' });
    const h = remapId({ past: [edit], future: [d] }, 'old', span('new'));
    expect(h.past[0].before!.id).toBe('new');
    expect(h.past[0].after!.id).toBe('new');
    expect(h.future[0].before!.id).toBe('new');
    expect(redoCall(h.future[0])).toMatchObject({ method: 'DELETE', id: 'new' });
  });

  it('describes entries; delete and dismiss are the destructive ones', () => {
    expect(describeEntry({ kind: 'delete', before: span('a'), after: null })).toBe('Deleted bull_flag');
    expect(isDestructive({ kind: 'delete', before: span('a'), after: null })).toBe(true);
    const mp = { label: 'double_top', confidence: 0.8, model_version: 'v1' };
    expect(describeEntry({ kind: 'dismiss', before: null, after: span('a', { label: 'O', model_prediction: mp }) })).toBe('Marked "not a pattern": double_top');
    expect(isDestructive({ kind: 'dismiss', before: null, after: span('a', { label: 'O' }) })).toBe(true);
    expect(isDestructive({ kind: 'create', before: null, after: span('a') })).toBe(false);
  });
});

describe('dragging a span', () => {
  it('resizes by an edge and moves by the body, in whole candles, inside the loaded ones', async () => {
    const { draggedRange } = await import('@/components/chart/useSpanDrag');
    expect(draggedRange({ from: 10, to: 20 }, 'end', 5, 100)).toEqual({ from: 10, to: 25 });
    expect(draggedRange({ from: 10, to: 20 }, 'end', -50, 100)).toEqual({ from: 10, to: 10 });
    expect(draggedRange({ from: 10, to: 20 }, 'start', -3, 100)).toEqual({ from: 7, to: 20 });
    expect(draggedRange({ from: 10, to: 20 }, 'start', 30, 100)).toEqual({ from: 20, to: 20 });
    expect(draggedRange({ from: 10, to: 20 }, 'body', -4, 100)).toEqual({ from: 6, to: 16 });
    expect(draggedRange({ from: 10, to: 20 }, 'body', -40, 100)).toEqual({ from: 0, to: 10 });
    expect(draggedRange({ from: 90, to: 95 }, 'body', 10, 100)).toEqual({ from: 94, to: 99 });
  });
});
