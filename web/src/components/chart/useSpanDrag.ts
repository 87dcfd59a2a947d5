'use client';

/**
 * Moving and resizing the selected span on the chart, in pan mode: its left or right edge
 * (within `EDGE_PX` of it) resizes it, its body moves it, both snapping to whole candles. While
 * the pointer is over a handle the chart does not pan (so the drag is not a pan), and the cursor
 * says what a drag would do. Returns the range to draw while dragging; on release
 * `onChange(id, from, to)` gets the new candle indexes (only when they changed).
 */
import type { IChartApi } from 'lightweight-charts';
import { useEffect, useRef, useState, type RefObject } from 'react';
import { useLatest } from '@/hooks/useLatest';
import { snapToIndex, type IndexRange } from '@/lib/spans';
import type { ChartMode } from './useSpanSelection';
import type { SpanRectangles } from './span-rectangles';

/** Distance (CSS px) from an edge within which a press grabs that edge. */
export const EDGE_PX = 6;

export type DragPart = 'start' | 'end' | 'body';

/** The span range after dragging `part` by `delta` candles from `range`, kept inside 0..n-1 and at least one candle. */
export function draggedRange(range: IndexRange, part: DragPart, delta: number, n: number): IndexRange {
  if (part === 'start') return { from: Math.max(0, Math.min(range.to, range.from + delta)), to: range.to };
  if (part === 'end') return { from: range.from, to: Math.min(n - 1, Math.max(range.from, range.to + delta)) };
  const shift = Math.max(-range.from, Math.min(n - 1 - range.to, delta));
  return { from: range.from + shift, to: range.to + shift };
}

export function useSpanDrag(options: {
  containerRef: RefObject<HTMLDivElement | null>;
  chartRef: RefObject<IChartApi | null>;
  rectanglesRef: RefObject<SpanRectangles | null>;
  timesRef: RefObject<readonly number[]>;
  mode: ChartMode;
  /** The selected span and its candle indexes (null: nothing to drag). */
  selected: ({ id: string } & IndexRange) | null;
  onChange: (id: string, range: IndexRange) => void;
}): ({ id: string } & IndexRange) | null {
  const { containerRef, chartRef, rectanglesRef, timesRef } = options;
  const latest = useLatest({ mode: options.mode, selected: options.selected, onChange: options.onChange });
  const dragRef = useRef<{ id: string; part: DragPart; anchor: number; range: IndexRange; now: IndexRange } | null>(null);
  const [dragging, setDragging] = useState<({ id: string } & IndexRange) | null>(null);

  useEffect(() => {
    const container = containerRef.current!;
    const local = (e: PointerEvent) => {
      const rect = container.getBoundingClientRect();
      return { x: e.clientX - rect.left, y: e.clientY - rect.top };
    };
    const indexAt = (x: number) => {
      const logical = chartRef.current?.timeScale().coordinateToLogical(x);
      return logical === null || logical === undefined ? null : snapToIndex(logical, timesRef.current.length);
    };
    /** Which part of the selected span is under (x, y), if any. */
    const partAt = (x: number, y: number): DragPart | null => {
      const { mode, selected } = latest.current;
      const box = selected && mode === 'pan' ? rectanglesRef.current?.boxOf(selected.id) : null;
      if (!box || y < box.y1 - EDGE_PX || y > box.y2 + EDGE_PX) return null;
      if (Math.abs(x - box.x1) <= EDGE_PX) return 'start';
      if (Math.abs(x - box.x2) <= EDGE_PX) return 'end';
      return x > box.x1 && x < box.x2 && y >= box.y1 && y <= box.y2 ? 'body' : null;
    };
    const setPanning = (on: boolean) => chartRef.current?.applyOptions({ handleScroll: { pressedMouseMove: on } });

    const onMove = (e: PointerEvent) => {
      const d = dragRef.current;
      const { x, y } = local(e);
      if (!d) {
        // Hovering: no pan over a handle, and a cursor that says what a drag does.
        if (latest.current.mode !== 'pan') return;
        const part = partAt(x, y);
        container.style.cursor = part === 'body' ? 'move' : part ? 'ew-resize' : '';
        container.dataset.dragPart = part ?? '';
        setPanning(part === null);
        return;
      }
      const i = indexAt(x);
      if (i === null) return;
      const now = draggedRange(d.range, d.part, i - d.anchor, timesRef.current.length);
      if (now.from !== d.now.from || now.to !== d.now.to) {
        d.now = now;
        setDragging({ id: d.id, ...now });
      }
      e.preventDefault();
    };
    const onDown = (e: PointerEvent) => {
      const { selected } = latest.current;
      if (e.button !== 0 || !selected) return;
      const { x, y } = local(e);
      const part = partAt(x, y);
      const i = part ? indexAt(x) : null;
      if (!part || i === null) return;
      setPanning(false);
      const range = { from: selected.from, to: selected.to };
      dragRef.current = { id: selected.id, part, anchor: i, range, now: range };
      setDragging({ id: selected.id, ...range });
      // No preventDefault: a press without a move stays a click on the span (the chart's
      // mouse events follow the pointer events), which opens it in the dialog.
    };
    const onUp = () => {
      const d = dragRef.current;
      if (!d) return;
      dragRef.current = null;
      setDragging(null);
      setPanning(latest.current.mode === 'pan');
      if (d.now.from === d.range.from && d.now.to === d.range.to) return; // a click, not a drag
      // The click that ends a drag is no click on the span (CandleChart ignores it).
      container.dataset.dragEndedAt = String(Date.now());
      latest.current.onChange(d.id, d.now);
    };
    container.addEventListener('pointerdown', onDown, { capture: true });
    container.addEventListener('pointermove', onMove, { capture: true });
    window.addEventListener('pointerup', onUp, { capture: true });
    return () => {
      container.removeEventListener('pointerdown', onDown, { capture: true });
      container.removeEventListener('pointermove', onMove, { capture: true });
      window.removeEventListener('pointerup', onUp, { capture: true });
    };
  }, [containerRef, chartRef, rectanglesRef, timesRef, latest]);

  return dragging;
}
