/** The highlight primitive's layers with a stand-in chart, as tests/span-rectangles.test.ts. */
import { describe, expect, it, vi } from 'vitest';
import { DisagreementHighlights, type HighlightBox } from '@/components/chart/disagreement-highlights';

function attach(primitive: DisagreementHighlights, visible = { from: 0, to: 100 }) {
  const timeScale = {
    getVisibleLogicalRange: () => visible,
    options: () => ({ barSpacing: 10 }),
    logicalToCoordinate: (logical: number) => logical * 10,
  };
  const requestUpdate = vi.fn();
  primitive.attached({
    chart: { timeScale: () => timeScale },
    series: { priceToCoordinate: (price: number) => 1000 - price * 100 },
    requestUpdate,
    horzScaleBehavior: null,
  } as never);
  return requestUpdate;
}

/** Paint into a recording context; returns what was filled and stroked, with the dash in force. */
function paint(p: DisagreementHighlights) {
  const calls: string[] = [];
  let dash: number[] = [];
  const ctx = new Proxy({} as Record<string, unknown>, {
    get: (target, key) => {
      if (key === 'fillRect') return () => calls.push(`fill ${target.fillStyle}`);
      if (key === 'strokeRect') return () => calls.push(`stroke ${target.strokeStyle}${dash.length ? ' dashed' : ''}`);
      if (key === 'setLineDash') return (d: number[]) => (dash = d);
      return target[key as string];
    },
    set: (target, key, value) => ((target[key as string] = value), true),
  });
  const target = { useBitmapCoordinateSpace: (cb: (s: unknown) => void) => cb({ context: ctx, horizontalPixelRatio: 1, verticalPixelRatio: 1 }) };
  p.updateAllViews();
  // Every pane view in paint order: the fills ('bottom', below the candles), then the borders.
  for (const view of p.paneViews()) view.renderer()!.draw(target as never);
  return calls;
}

const box = (id: string, kind: HighlightBox['kind'], from: number, to: number): HighlightBox => ({ id, kind, from, to, low: 1, high: 2 });

describe('DisagreementHighlights', () => {
  it('draws each kind in its style: red dashed border, yellow fill, orange border', () => {
    const p = new DisagreementHighlights();
    const requestUpdate = attach(p);
    p.setBoxes([box('m', 'missed_by_model', 10, 20), box('h', 'missed_by_human', 30, 40), box('l', 'label_mismatch', 50, 60)]);
    expect(requestUpdate).toHaveBeenCalled();
    expect(paint(p)).toEqual(['fill rgba(255, 214, 0, 0.22)', 'stroke #ff1744 dashed', 'stroke #ff9100']);
    // The yellow fill lies below the candles, so it never tints them; the borders above.
    expect(p.paneViews().map((v) => v.zOrder?.())).toEqual(['bottom', 'normal']);
  });

  it('converts only the boxes near the view, long ones that start before it included', () => {
    const p = new DisagreementHighlights();
    attach(p, { from: 1000, to: 1100 });
    const boxes = Array.from({ length: 5000 }, (_, i) => box(`b${i}`, 'missed_by_human', i * 10, i * 10 + 5));
    boxes.push(box('long', 'missed_by_model', 900, 1010));
    p.setBoxes(boxes);
    const painted = paint(p);
    // b100..b110 (from 1000 to 1100) plus the long one reaching into the view.
    expect(painted.filter((c) => c.startsWith('fill'))).toHaveLength(11);
    expect(painted.filter((c) => c.startsWith('stroke'))).toHaveLength(1);
  });

  it('clicks find predictions (missed_by_human, label_mismatch), not human-only highlights', () => {
    const p = new DisagreementHighlights({ verticalPadding: 0.1 });
    attach(p);
    p.setBoxes([box('m', 'missed_by_model', 10, 20), box('h', 'missed_by_human', 30, 40), box('l', 'label_mismatch', 50, 52)]);
    p.updateAllViews();
    expect(p.highlightAt(150, 850)).toBeNull(); // missed_by_model: nothing to accept or dismiss
    expect(p.highlightAt(350, 850)).toBe('h');
    expect(p.highlightAt(510, 790)).toBe('l');
    expect(p.highlightAt(350, 700)).toBeNull(); // above the box
    expect(p.hitTest(350, 850)).toMatchObject({ externalId: 'h', cursorStyle: 'pointer' });
  });
});
