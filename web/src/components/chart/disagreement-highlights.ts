/**
 * Disagreement highlights: a series primitive that marks where the model and the annotators
 * disagree, in three styles:
 *
 * - `missed_by_model` (a human span the model did not find): red dashed border;
 * - `missed_by_human` (a prediction no annotator marked): yellow fill, clickable;
 * - `label_mismatch` (both found it, with different labels): orange border, clickable.
 *
 * Three layers as in lightweight-charts' plugin examples (and span-rectangles.ts): the source
 * holds boxes in data space (candle indexes, prices), sorted by their first candle; the pane
 * view's update() converts only those near the visible range to pixels (binary search, so
 * thousands of boxes over 50k candles cost nothing while panning); the renderer only paints.
 * Drawn on the main canvas, not on the 'top' one, which lightweight-charts repaints on every
 * crosshair move: the fills below the candles ('bottom', so the yellow never tints a candle),
 * the borders above them ('normal').
 */
import type {
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  PrimitiveHoveredItem,
  PrimitivePaneViewZOrder,
} from 'lightweight-charts';
import { withAlpha } from '@/lib/labels';
import type { DisagreementKind } from '@/types/predictions';
import {
  bitmapRect,
  BoxPrimitive,
  type CanvasRenderingTarget2D,
  type PixelRect,
  smallestAt,
  toPixelRect,
} from './box-primitive';

/** One highlight in data space. */
export interface HighlightBox {
  id: string;
  kind: DisagreementKind;
  /** Index of the first loaded candle (inclusive). */
  from: number;
  /** Index of the last loaded candle (inclusive). */
  to: number;
  low: number;
  high: number;
}

export interface HighlightStyle {
  color: string;
  /** 0 for no fill. */
  fillOpacity: number;
  /** 0 for no border. */
  borderWidth: number;
  dashed: boolean;
}

export interface DisagreementHighlightsOptions {
  styles: Record<DisagreementKind, HighlightStyle>;
  /** Room above and below the candles' high and low, as a fraction of the box height. */
  verticalPadding: number;
}

export const defaultDisagreementHighlightsOptions: DisagreementHighlightsOptions = {
  styles: {
    missed_by_model: { color: '#ff1744', fillOpacity: 0, borderWidth: 2, dashed: true },
    missed_by_human: { color: '#ffd600', fillOpacity: 0.22, borderWidth: 0, dashed: false },
    label_mismatch: { color: '#ff9100', fillOpacity: 0, borderWidth: 2, dashed: false },
  },
  verticalPadding: 0.16,
};

/** Kinds a click acts on (they carry a prediction to accept or dismiss). */
const CLICKABLE: ReadonlySet<DisagreementKind> = new Set(['missed_by_human', 'label_mismatch']);

interface ScreenBox extends PixelRect {
  id: string;
  kind: DisagreementKind;
}

/** What one pane view draws: the fills (below the candles, so they never tint them) or the borders (above). */
type HighlightPart = 'fill' | 'border';

class HighlightsRenderer implements IPrimitivePaneRenderer {
  constructor(
    private readonly boxes: readonly ScreenBox[],
    private readonly options: DisagreementHighlightsOptions,
    private readonly part: HighlightPart,
  ) {}

  draw(target: CanvasRenderingTarget2D): void {
    target.useBitmapCoordinateSpace(({ context: ctx, horizontalPixelRatio: hr, verticalPixelRatio: vr }) => {
      for (const b of this.boxes) {
        const style = this.options.styles[b.kind];
        const { x, y, w, h } = bitmapRect(b, hr, vr);
        if (this.part === 'fill' && style.fillOpacity > 0) {
          ctx.fillStyle = withAlpha(style.color, style.fillOpacity);
          ctx.fillRect(x, y, w, h);
        }
        if (this.part === 'border' && style.borderWidth > 0) {
          const line = Math.max(1, Math.round(style.borderWidth * hr));
          ctx.setLineDash(style.dashed ? [6 * hr, 4 * hr] : []);
          ctx.lineWidth = line;
          ctx.strokeStyle = style.color;
          ctx.strokeRect(x + line / 2, y + line / 2, w - line, h - line);
        }
      }
      ctx.setLineDash([]);
    });
  }
}

class HighlightsPaneView implements IPrimitivePaneView {
  private boxes: ScreenBox[] = [];

  constructor(
    private readonly source: DisagreementHighlights,
    private readonly part: HighlightPart,
  ) {}

  update(): void {
    const { chart, series } = this.source;
    this.boxes = [];
    if (!chart || !series) return;
    const timeScale = chart.timeScale();
    const visible = timeScale.getVisibleLogicalRange();
    if (!visible) return;
    const o = this.source.options;
    const boxes = this.source.boxes;
    // Boxes are sorted by `from`; none is longer than maxLength, so earlier ones cannot reach the view.
    let i = lowerBoundFrom(boxes, visible.from - 1 - this.source.maxLength);
    for (; i < boxes.length && boxes[i].from <= visible.to + 1; i++) {
      const s = boxes[i];
      if (s.to < visible.from - 1) continue;
      const rect = toPixelRect(chart, series, s, o.verticalPadding, 0.0008);
      if (rect) this.boxes.push({ id: s.id, kind: s.kind, ...rect });
    }
  }

  /** The clickable highlight at (x, y) in CSS pixels, the smallest when they overlap. */
  boxAt(x: number, y: number): ScreenBox | null {
    return smallestAt(this.boxes, x, y, (b) => CLICKABLE.has(b.kind));
  }

  /** The boxes as last drawn (CSS pixels), for the browser tests. */
  drawn(): readonly ScreenBox[] {
    return this.boxes;
  }

  zOrder(): PrimitivePaneViewZOrder {
    return this.part === 'fill' ? 'bottom' : 'normal';
  }

  renderer(): IPrimitivePaneRenderer {
    return new HighlightsRenderer(this.boxes, this.source.options, this.part);
  }
}

/** First index whose box starts at or after `from`. */
function lowerBoundFrom(boxes: readonly HighlightBox[], from: number): number {
  let lo = 0;
  let hi = boxes.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (boxes[mid].from < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class DisagreementHighlights extends BoxPrimitive<DisagreementHighlightsOptions> {
  boxes: readonly HighlightBox[] = [];
  /** Candles in the longest box, minus one. */
  maxLength = 0;
  protected readonly views: readonly HighlightsPaneView[];

  constructor(options: Partial<DisagreementHighlightsOptions> = {}) {
    super(defaultDisagreementHighlightsOptions, options);
    // The fills below the candles (a candle is never tinted), the borders above them.
    this.views = [new HighlightsPaneView(this, 'fill'), new HighlightsPaneView(this, 'border')];
  }

  setBoxes(boxes: readonly HighlightBox[]): void {
    this.boxes = [...boxes].sort((a, b) => a.from - b.from);
    this.maxLength = this.boxes.reduce((m, b) => Math.max(m, b.to - b.from), 0);
    this.requestUpdate?.();
  }

  /** The id of the clickable highlight at (x, y) in CSS pixels of the pane, as last drawn. */
  highlightAt(x: number, y: number): string | null {
    return this.views[0].boxAt(x, y)?.id ?? null;
  }

  /** The highlights drawn in the view (CSS pixels of the pane), for the browser tests. */
  drawnBoxes(): { id: string; kind: DisagreementKind; x1: number; x2: number; y1: number; y2: number }[] {
    return this.views[0].drawn().map((b) => ({ id: b.id, kind: b.kind, x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2 }));
  }

  hitTest(x: number, y: number): PrimitiveHoveredItem | null {
    const id = this.highlightAt(x, y);
    return id ? { externalId: id, zOrder: 'normal', cursorStyle: 'pointer', hitTestPriority: 0 } : null;
  }
}
