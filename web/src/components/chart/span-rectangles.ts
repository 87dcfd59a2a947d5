/**
 * Span rectangles: a series primitive that paints each annotated span as a translucent box in
 * its label colour, behind the candles. Three layers, as in lightweight-charts' plugin examples:
 *
 * - the source (SpanRectangles) holds the boxes in data space: candle indexes and prices;
 * - its pane view's update() converts them to pixel coordinates for the current viewport;
 * - the renderer's draw() only paints what the view computed.
 *
 * A later overlay (model predictions) is another primitive of the same shape on the same series.
 */
import type {
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  PrimitiveHoveredItem,
  PrimitivePaneViewZOrder,
} from 'lightweight-charts';
import { DEFAULT_LABELS, labelColorFn, withAlpha } from '@/lib/labels';
import {
  bitmapRect,
  BoxPrimitive,
  type CanvasRenderingTarget2D,
  type PixelRect,
  smallestAt,
  toPixelRect,
} from './box-primitive';

/** CSS pixels at the top of the pane the OHLCV readout takes (no span label is drawn there). */
export const READOUT_BAND_PX = 30;

/** The size in CSS pixels of a font given as '11px …'. */
const fontPx = (font: string) => Number(/(\d+)px/.exec(font)?.[1] ?? 11);

/** One span in data space, ready to draw. */
export interface SpanBox {
  id: string;
  label: string;
  /** Index of the first loaded candle of the span (inclusive). */
  from: number;
  /** Index of the last loaded candle of the span (inclusive). */
  to: number;
  low: number;
  high: number;
  /** Emphasised: the span being edited. */
  selected?: boolean;
  /** The selection in progress: outlined, not filled. */
  draft?: boolean;
}

export interface SpanRectanglesOptions {
  /** The label's colour; the overlay takes its colouring as a function. */
  colorOf: (label: string) => string;
  fillOpacity: number;
  selectedFillOpacity: number;
  borderWidth: number;
  /** Extra room above and below the candles' high and low, as a fraction of the box height. */
  verticalPadding: number;
  showLabels: boolean;
  font: string;
  draftColor: string;
}

export const defaultSpanRectanglesOptions: SpanRectanglesOptions = {
  colorOf: labelColorFn(DEFAULT_LABELS),
  fillOpacity: 0.18,
  selectedFillOpacity: 0.32,
  borderWidth: 1,
  verticalPadding: 0.08,
  showLabels: true,
  font: '11px system-ui, sans-serif',
  draftColor: '#ffd54f',
};

/** A box in media (CSS pixel) coordinates. */
interface ScreenBox extends PixelRect {
  id: string;
  color: string;
  label: string;
  selected: boolean;
  draft: boolean;
  /** The top left of its label as last drawn (CSS pixels), set by the renderer; for the browser tests. */
  labelAt?: { x: number; y: number } | null;
}

class SpanRectanglesRenderer implements IPrimitivePaneRenderer {
  constructor(
    private readonly boxes: readonly ScreenBox[],
    private readonly options: SpanRectanglesOptions,
  ) {}

  draw(target: CanvasRenderingTarget2D): void {
    target.useBitmapCoordinateSpace(({ context: ctx, horizontalPixelRatio: hr, verticalPixelRatio: vr }) => {
      const o = this.options;
      for (const b of this.boxes) {
        const { x, y, w, h } = bitmapRect(b, hr, vr);
        const line = Math.max(1, Math.round(o.borderWidth * hr * (b.selected ? 2 : 1)));
        if (b.draft) {
          ctx.fillStyle = withAlpha(o.draftColor, 0.12);
          ctx.fillRect(x, y, w, h);
          ctx.setLineDash([4 * hr, 3 * hr]);
          ctx.strokeStyle = o.draftColor;
        } else {
          ctx.fillStyle = withAlpha(b.color, b.selected ? o.selectedFillOpacity : o.fillOpacity);
          ctx.fillRect(x, y, w, h);
          ctx.setLineDash([]);
          ctx.strokeStyle = withAlpha(b.color, b.selected ? 1 : 0.7);
        }
        ctx.lineWidth = line;
        ctx.strokeRect(x + line / 2, y + line / 2, w - line, h - line);
        if (b.selected) {
          // The drag handles (chart/useSpanDrag.ts): a grip on each edge, in the label colour.
          ctx.fillStyle = b.color;
          const gw = Math.max(3, Math.round(4 * hr));
          const gh = Math.min(h, Math.round(28 * vr));
          ctx.fillRect(x - gw / 2, y + (h - gh) / 2, gw, gh);
          ctx.fillRect(x + w - gw / 2, y + (h - gh) / 2, gw, gh);
        }
        b.labelAt = null;
        if (o.showLabels && !b.draft && w > 30 * hr) {
          ctx.setLineDash([]);
          ctx.font = o.font.replace(/(\d+)px/, (_, px) => `${Math.round(Number(px) * vr)}px`);
          ctx.fillStyle = b.color;
          // Above the box, unless that is the band of the OHLCV readout at the top of the
          // pane (the label would overprint the prices): then inside the box, at its top.
          const above = y - 2 * vr >= READOUT_BAND_PX * vr;
          ctx.textBaseline = above ? 'bottom' : 'top';
          const tx = x + 3 * hr;
          const ty = above ? y - 2 * vr : Math.max(y, READOUT_BAND_PX * vr) + 2 * vr;
          ctx.fillText(b.label, tx, ty);
          b.labelAt = { x: tx / hr, y: above ? ty / vr - fontPx(o.font) : ty / vr };
        }
      }
    });
  }
}

class SpanRectanglesPaneView implements IPrimitivePaneView {
  private boxes: ScreenBox[] = [];

  constructor(private readonly source: SpanRectangles) {}

  /** Data space to pixels for the current viewport; boxes out of view are dropped. */
  update(): void {
    const chart = this.source.chart;
    const series = this.source.series;
    this.boxes = [];
    if (!chart || !series) return;
    const timeScale = chart.timeScale();
    const visible = timeScale.getVisibleLogicalRange();
    if (!visible) return;
    const o = this.source.options;
    for (const s of this.source.spans) {
      if (s.to < visible.from - 1 || s.from > visible.to + 1) continue;
      const rect = toPixelRect(chart, series, s, o.verticalPadding, 0.0005);
      if (!rect) continue;
      this.boxes.push({
        id: s.id,
        ...rect,
        color: o.colorOf(s.label),
        label: s.label,
        selected: Boolean(s.selected),
        draft: Boolean(s.draft),
      });
    }
  }

  /** The saved span drawn at (x, y) in CSS pixels, the smallest when boxes overlap. */
  boxAt(x: number, y: number): ScreenBox | null {
    return smallestAt(this.boxes, x, y, (b) => !b.draft);
  }

  /** The box of span `id` as last drawn (CSS pixels), or null when it is not in view. */
  boxOf(id: string): PixelRect | null {
    const b = this.boxes.find((x) => x.id === id && !x.draft);
    return b ? { x1: b.x1, x2: b.x2, y1: b.y1, y2: b.y2 } : null;
  }

  /** Where the label of span `id` was last drawn (CSS pixels, measured in its font), or null (for the browser tests). */
  labelBoxOf(id: string): PixelRect | null {
    const at = this.boxes.find((x) => x.id === id && !x.draft)?.labelAt;
    const ctx = at ? document.createElement('canvas').getContext('2d') : null;
    if (!at || !ctx) return null;
    const font = this.source.options.font;
    ctx.font = font;
    return { x1: at.x, x2: at.x + ctx.measureText(this.boxes.find((x) => x.id === id)!.label).width, y1: at.y, y2: at.y + fontPx(font) };
  }

  zOrder(): PrimitivePaneViewZOrder {
    return 'bottom';
  }

  renderer(): IPrimitivePaneRenderer {
    return new SpanRectanglesRenderer(this.boxes, this.source.options);
  }
}

export class SpanRectangles extends BoxPrimitive<SpanRectanglesOptions> {
  spans: readonly SpanBox[] = [];
  protected readonly views: readonly SpanRectanglesPaneView[];

  constructor(options: Partial<SpanRectanglesOptions> = {}) {
    super(defaultSpanRectanglesOptions, options);
    this.views = [new SpanRectanglesPaneView(this)];
  }

  setSpans(spans: readonly SpanBox[]): void {
    this.spans = spans;
    this.requestUpdate?.();
  }

  /** Where span `id` was last drawn (CSS pixels of the pane), for the drag handles; null out of view. */
  boxOf(id: string): PixelRect | null {
    return this.views[0].boxOf(id);
  }

  /** Where the label of span `id` was last drawn (CSS pixels of the pane), or null (for the browser tests). */
  labelBoxOf(id: string): PixelRect | null {
    return this.views[0].labelBoxOf(id);
  }

  /** The id of the saved span at (x, y) in CSS pixels of the pane, as last drawn. */
  spanAt(x: number, y: number): string | null {
    return this.views[0].boxAt(x, y)?.id ?? null;
  }

  /** Lets the chart show a pointer over a span; clicks are resolved with spanAt(). */
  hitTest(x: number, y: number): PrimitiveHoveredItem | null {
    const id = this.spanAt(x, y);
    return id ? { externalId: id, zOrder: 'bottom', cursorStyle: 'pointer', hitTestPriority: 0 } : null;
  }
}
