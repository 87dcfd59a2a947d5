/**
 * What the chart's box overlays (span rectangles, disagreement highlights) share: the
 * primitive's attach/detach plumbing, the data-space to pixel conversion of one box, the
 * hit test, and the pixel rounding of the renderers. Each overlay keeps its own pane view
 * (which boxes, which style) and renderer (how to paint).
 */
import type {
  IChartApi,
  IPrimitivePaneRenderer,
  IPrimitivePaneView,
  ISeriesApi,
  ISeriesPrimitive,
  Logical,
  SeriesAttachedParameter,
  SeriesType,
  Time,
} from 'lightweight-charts';

/** The canvas target lightweight-charts hands a renderer (fancy-canvas's, not imported directly). */
export type CanvasRenderingTarget2D = Parameters<IPrimitivePaneRenderer['draw']>[0];

/** A box in data space: candle indexes (inclusive) and prices. */
export interface DataBox {
  from: number;
  to: number;
  low: number;
  high: number;
}

/** A box in media (CSS pixel) coordinates. */
export interface PixelRect {
  x1: number;
  x2: number;
  y1: number;
  y2: number;
}

/** Whole-bar pixel rectangle of a box, padded vertically; null when off the price or time scale. */
export function toPixelRect(
  chart: IChartApi,
  series: ISeriesApi<SeriesType>,
  box: DataBox,
  verticalPadding: number,
  flatPadding: number,
): PixelRect | null {
  const timeScale = chart.timeScale();
  const halfBar = timeScale.options().barSpacing / 2;
  const xa = timeScale.logicalToCoordinate(box.from as Logical);
  const xb = timeScale.logicalToCoordinate(box.to as Logical);
  const pad = (box.high - box.low) * verticalPadding || Math.abs(box.high) * flatPadding;
  const ya = series.priceToCoordinate(box.high + pad);
  const yb = series.priceToCoordinate(box.low - pad);
  if (xa === null || xb === null || ya === null || yb === null) return null;
  return { x1: Math.min(xa, xb) - halfBar, x2: Math.max(xa, xb) + halfBar, y1: Math.min(ya, yb), y2: Math.max(ya, yb) };
}

/** The smallest accepted rectangle containing (x, y), so a box nested in another stays clickable. */
export function smallestAt<T extends PixelRect>(rects: readonly T[], x: number, y: number, accept: (r: T) => boolean): T | null {
  let best: T | null = null;
  for (const r of rects) {
    if (!accept(r) || x < r.x1 || x > r.x2 || y < r.y1 || y > r.y2) continue;
    if (!best || (r.x2 - r.x1) * (r.y2 - r.y1) < (best.x2 - best.x1) * (best.y2 - best.y1)) best = r;
  }
  return best;
}

/** A rectangle in bitmap pixels, at least one pixel wide and high. */
export function bitmapRect(r: PixelRect, hr: number, vr: number): { x: number; y: number; w: number; h: number } {
  return {
    x: Math.round(r.x1 * hr),
    y: Math.round(r.y1 * vr),
    w: Math.max(1, Math.round((r.x2 - r.x1) * hr)),
    h: Math.max(1, Math.round((r.y2 - r.y1) * vr)),
  };
}

/** The series-primitive plumbing: chart and series while attached, options, repaint requests. */
export abstract class BoxPrimitive<Options extends object> implements ISeriesPrimitive<Time> {
  chart: IChartApi | null = null;
  series: ISeriesApi<SeriesType> | null = null;
  options: Options;
  protected requestUpdate: (() => void) | null = null;
  protected abstract readonly views: readonly (IPrimitivePaneView & { update(): void })[];

  constructor(defaults: Options, options: Partial<Options>) {
    this.options = { ...defaults, ...options };
  }

  attached({ chart, series, requestUpdate }: SeriesAttachedParameter<Time>): void {
    this.chart = chart as IChartApi;
    this.series = series;
    this.requestUpdate = requestUpdate;
    requestUpdate();
  }

  detached(): void {
    this.chart = null;
    this.series = null;
    this.requestUpdate = null;
  }

  applyOptions(options: Partial<Options>): void {
    this.options = { ...this.options, ...options };
    this.requestUpdate?.();
  }

  updateAllViews(): void {
    for (const view of this.views) view.update();
  }

  paneViews(): readonly IPrimitivePaneView[] {
    return this.views;
  }
}
