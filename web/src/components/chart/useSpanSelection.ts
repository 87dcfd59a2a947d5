'use client';

/**
 * Span selection on the chart, in select mode: drag across bars, or click the first bar and
 * then the last. Returns the draft to draw while a selection is in progress and a way to drop
 * it (Esc). In select mode the pointer marks spans, so dragging does not pan the chart (wheel
 * zoom and scroll stay); back in pan mode, a selection in progress is dropped.
 */
import type { IChartApi } from 'lightweight-charts';
import { useCallback, useEffect, useRef, useState, type RefObject } from 'react';
import { selectionToSpan, snapToIndex, type IndexRange, type SelectedSpan } from '@/lib/spans';
import { useLatest } from '@/hooks/useLatest';

export type ChartMode = 'pan' | 'select';

/** Pointer travel (px) above which a press is a drag rather than a click. */
const DRAG_THRESHOLD_PX = 4;

interface SelectionInProgress {
  /** The bar of a first click, waiting for the second. */
  clickAnchor: number | null;
  drag: { anchor: number; startX: number; moved: boolean } | null;
}

const idle = (): SelectionInProgress => ({ clickAnchor: null, drag: null });

export function useSpanSelection(options: {
  containerRef: RefObject<HTMLDivElement | null>;
  chartRef: RefObject<IChartApi | null>;
  /** The loaded candles' times. */
  timesRef: RefObject<readonly number[]>;
  mode: ChartMode;
  onSelect: (span: SelectedSpan) => void;
}): { draft: IndexRange | null; cancel: () => void } {
  const { containerRef, chartRef, timesRef, mode } = options;
  const latestRef = useLatest({ mode, onSelect: options.onSelect });
  const selectionRef = useRef<SelectionInProgress>(idle());
  const [draft, setDraft] = useState<IndexRange | null>(null);

  // Back to pan mode: the draft goes (the selection in progress, in the effect below).
  const [shownMode, setShownMode] = useState(mode);
  if (shownMode !== mode) {
    setShownMode(mode);
    if (mode === 'pan') setDraft(null);
  }

  useEffect(() => {
    chartRef.current?.applyOptions({ handleScroll: { pressedMouseMove: mode === 'pan' } });
    if (mode === 'pan') selectionRef.current = idle();
  }, [chartRef, mode]);

  useEffect(() => {
    const container = containerRef.current!;
    /** The bar under the pointer, or null outside the candle pane. */
    const barAt = (e: PointerEvent): { index: number; x: number } | null => {
      const chart = chartRef.current;
      if (!chart) return null;
      const rect = container.getBoundingClientRect();
      const x = e.clientX - rect.left;
      const y = e.clientY - rect.top;
      const pane = chart.paneSize(0);
      if (x < 0 || y < 0 || x > pane.width || y > pane.height) return null;
      const logical = chart.timeScale().coordinateToLogical(x);
      const index = logical === null ? null : snapToIndex(logical, timesRef.current.length);
      return index === null ? null : { index, x };
    };
    const show = (a: number, b: number) => setDraft({ from: Math.min(a, b), to: Math.max(a, b) });
    const complete = (a: number, b: number) => {
      selectionRef.current = idle();
      setDraft(null);
      const span = selectionToSpan(a, b, timesRef.current);
      if (span) latestRef.current.onSelect(span);
    };
    const onDown = (e: PointerEvent) => {
      if (latestRef.current.mode !== 'select' || e.button !== 0) return;
      const bar = barAt(e);
      if (!bar) return;
      const s = selectionRef.current;
      s.drag = { anchor: s.clickAnchor ?? bar.index, startX: bar.x, moved: false };
      if (s.clickAnchor === null) show(bar.index, bar.index);
    };
    const onMove = (e: PointerEvent) => {
      if (latestRef.current.mode !== 'select') return;
      const bar = barAt(e);
      if (!bar) return;
      const s = selectionRef.current;
      if (s.drag) {
        if (Math.abs(bar.x - s.drag.startX) > DRAG_THRESHOLD_PX) s.drag.moved = true;
        show(s.drag.anchor, bar.index);
      } else if (s.clickAnchor !== null) {
        show(s.clickAnchor, bar.index);
      }
    };
    const onUp = (e: PointerEvent) => {
      const s = selectionRef.current;
      if (latestRef.current.mode !== 'select' || !s.drag) return;
      const drag = s.drag;
      s.drag = null;
      const bar = barAt(e);
      const index = bar?.index ?? drag.anchor;
      if (drag.moved) complete(drag.anchor, index);
      else if (s.clickAnchor === null) {
        s.clickAnchor = index;
        show(index, index);
      } else complete(s.clickAnchor, index);
    };
    container.addEventListener('pointerdown', onDown, { capture: true });
    container.addEventListener('pointermove', onMove, { capture: true });
    window.addEventListener('pointerup', onUp, { capture: true });
    return () => {
      container.removeEventListener('pointerdown', onDown, { capture: true });
      container.removeEventListener('pointermove', onMove, { capture: true });
      window.removeEventListener('pointerup', onUp, { capture: true });
    };
  }, [containerRef, chartRef, timesRef, latestRef]);

  const cancel = useCallback(() => {
    selectionRef.current = idle();
    setDraft(null);
  }, []);

  return { draft, cancel };
}
