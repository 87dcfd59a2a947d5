/** The span primitive's layers with a stand-in chart: data space -> pixels in update(), paint only in draw(). */
import { describe, expect, it, vi } from 'vitest';
import { SpanRectangles } from '@/components/chart/span-rectangles';

function fakeChart(visible = { from: 0, to: 100 }) {
  const timeScale = {
    getVisibleLogicalRange: () => visible,
    options: () => ({ barSpacing: 10 }),
    logicalToCoordinate: (logical: number) => logical * 10,
  };
  return {
    chart: { timeScale: () => timeScale },
    series: { priceToCoordinate: (price: number) => 1000 - price * 100 },
  };
}

function attach(primitive: SpanRectangles) {
  const { chart, series } = fakeChart();
  const requestUpdate = vi.fn();
  primitive.attached({ chart, series, requestUpdate, horzScaleBehavior: null } as never);
  return requestUpdate;
}

describe('SpanRectangles', () => {
  it('places a box from the first to the last candle, padded to the bar edges and beyond high/low', () => {
    const p = new SpanRectangles({ colorOf: () => '#26a69a', verticalPadding: 0.1 });
    const requestUpdate = attach(p);
    p.setSpans([
      { id: 'a', label: 'bull_flag', from: 10, to: 20, low: 1, high: 2 },
      { id: 'off-screen', label: 'bull_flag', from: 500, to: 510, low: 1, high: 2 },
      { id: '__draft__', label: '', from: 30, to: 40, low: 1, high: 2, draft: true },
    ]);
    expect(requestUpdate).toHaveBeenCalled();
    p.updateAllViews();
    // x: 10 * 10 - 5 .. 20 * 10 + 5; y: price 2.1 -> 790, 0.9 -> 910.
    expect(p.spanAt(95, 790)).toBe('a');
    expect(p.spanAt(205, 910)).toBe('a');
    expect(p.spanAt(94, 800)).toBeNull();
    expect(p.spanAt(150, 780)).toBeNull();
    expect(p.spanAt(350, 850)).toBeNull(); // the draft is not a saved span
    expect(p.hitTest(150, 850)).toMatchObject({ externalId: 'a', cursorStyle: 'pointer' });
  });

  it('picks the smaller of overlapping spans', () => {
    const p = new SpanRectangles();
    attach(p);
    p.setSpans([
      { id: 'outer', label: 'x', from: 0, to: 50, low: 0, high: 5 },
      { id: 'inner', label: 'y', from: 10, to: 12, low: 2, high: 3 },
    ]);
    p.updateAllViews();
    expect(p.spanAt(110, 750)).toBe('inner');
    expect(p.spanAt(300, 750)).toBe('outer');
  });

  it('paints only the boxes in view, below the series', () => {
    const p = new SpanRectangles({ colorOf: (label) => (label === 'double_top' ? '#ef5350' : '#26a69a') });
    attach(p);
    p.setSpans([
      { id: 'a', label: 'double_top', from: 10, to: 20, low: 1, high: 2, selected: true },
      { id: 'b', label: 'bull_flag', from: 400, to: 420, low: 1, high: 2 },
    ]);
    p.updateAllViews();
    const [view] = p.paneViews();
    expect(view.zOrder?.()).toBe('bottom');
    const fills: string[] = [];
    const ctx = new Proxy({} as Record<string, unknown>, {
      get: (target, key) =>
        key === 'fillRect' ? () => fills.push(String(target.fillStyle)) : key in target ? target[key as string] : () => {},
      set: (target, key, value) => ((target[key as string] = value), true),
    });
    const target = {
      useBitmapCoordinateSpace: (cb: (scope: unknown) => void) =>
        cb({ context: ctx, horizontalPixelRatio: 1, verticalPixelRatio: 1 }),
    };
    view.renderer()!.draw(target as never);
    // The selected box: its fill, then its two drag handles (chart/useSpanDrag.ts) in the label colour.
    expect(fills).toEqual(['rgba(239, 83, 80, 0.32)', '#ef5350', '#ef5350']);
  });

  it('answers where a span is drawn (for the drag handles), null out of view', () => {
    const p = new SpanRectangles({ colorOf: () => '#26a69a' });
    attach(p);
    p.setSpans([
      { id: 'a', label: 'bull_flag', from: 10, to: 20, low: 1, high: 2, selected: true },
      { id: 'b', label: 'bull_flag', from: 400, to: 420, low: 1, high: 2 },
    ]);
    p.updateAllViews();
    const box = p.boxOf('a');
    expect(box && box.x2 > box.x1 && box.y2 > box.y1).toBe(true);
    expect(p.boxOf('b')).toBeNull();
  });
});
