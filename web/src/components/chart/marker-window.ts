/**
 * Hands the markers plugin (createSeriesMarkers) only the markers near the view.
 *
 * lightweight-charts' markers plugin rebuilds an item for every marker it holds on each frame,
 * so 19,000 markers (a model that also predicts short TA-Lib candlestick patterns, over 50k
 * candles) cost ~20 ms per frame while panning. This keeps all markers sorted by candle index
 * and gives the plugin those of the view plus one view-width on each side; it re-windows only
 * when the view leaves that window, about once per screen of panning.
 *
 * Level of detail, by the markers in view: up to `maxTexts`, arrows with their text; up to
 * `maxMarkers`, arrows only (the labels would overlap into an unreadable band); beyond that,
 * none (the plugin's per-marker layout clones the chart's options twice per marker and
 * frame). The translucent bars still show every prediction; zooming in brings the markers
 * and their text back.
 *
 * Texts never overlap: given the chart's width, a marker keeps its text only when it is far
 * enough from the previous text (by an estimate of the text widths, `thinTexts`); the others
 * keep their arrow. The thinning is redone when the zoom changes the pixels per candle.
 */
import type { SeriesMarker, Time } from 'lightweight-charts';

export interface IndexedMarker {
  /** Index of the marker's candle in the loaded candles. */
  index: number;
  marker: SeriesMarker<Time>;
}

export interface MarkerTarget {
  setMarkers(markers: SeriesMarker<Time>[]): void;
}

/** Markers in view above which they are drawn without text. */
export const MAX_MARKER_TEXTS = 60;
/** Markers in view above which none are drawn. */
export const MAX_MARKERS = 200;

type Detail = 'text' | 'arrows' | 'none';

/** Estimated width in CSS pixels of a marker text (the plugin's 12 px sans-serif font). */
export const CHAR_PX = 7;
export const TEXT_GAP_PX = 10;
export const textWidth = (text: string) => text.length * CHAR_PX;

/**
 * Which markers keep their text at `pxPerBar` pixels per candle, so no two texts overlap:
 * greedily from the left, a text is kept when its centre is at least half of both widths plus
 * a gap from the last kept one. Markers sorted by index. Returns a flag per marker.
 */
export function thinTexts(markers: readonly IndexedMarker[], pxPerBar: number): boolean[] {
  const keep: boolean[] = [];
  let last: { x: number; w: number } | null = null;
  for (const m of markers) {
    const text = m.marker.text ?? '';
    if (!text) {
      keep.push(false);
      continue;
    }
    const x = m.index * pxPerBar;
    const w = textWidth(text);
    const ok = !last || x - last.x >= (last.w + w) / 2 + TEXT_GAP_PX;
    keep.push(ok);
    if (ok) last = { x, w };
  }
  return keep;
}

/** First position whose index is >= `index` (markers sorted by index). */
function lowerBound(markers: readonly IndexedMarker[], index: number): number {
  let lo = 0;
  let hi = markers.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (markers[mid].index < index) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

export class MarkerWindow {
  private all: IndexedMarker[] = [];
  private applied: { from: number; to: number; detail: Detail; pxPerBar: number } | null = null;
  private texts: IndexedMarker[] = [];

  constructor(
    private readonly target: MarkerTarget,
    private readonly maxTexts: number = MAX_MARKER_TEXTS,
    private readonly maxMarkers: number = MAX_MARKERS,
  ) {}

  /** What the plugin was last given: 'text', 'arrows' or 'none' (for the browser test). */
  get detail(): Detail | null {
    return this.applied?.detail ?? null;
  }

  /** Markers given to the plugin with their text (for the browser test). */
  get textCount(): number {
    return this.texts.length;
  }

  /** The markers given to the plugin with their text (for the browser test's overlap check). */
  get withText(): readonly IndexedMarker[] {
    return this.texts;
  }

  /**
   * Every marker of the overlay (any order), the current view (logical indexes) and the
   * chart's width in CSS pixels (for the text thinning; unknown: 10 px per candle).
   */
  setMarkers(all: readonly IndexedMarker[], view: { from: number; to: number } | null, widthPx?: number): void {
    this.all = [...all].sort((a, b) => a.index - b.index);
    this.applied = null;
    if (!this.update(view, widthPx)) {
      this.texts = [];
      this.target.setMarkers([]);
    }
  }

  /** The view changed. Returns true when the plugin got a new set of markers. */
  update(view: { from: number; to: number } | null, widthPx?: number): boolean {
    if (!view) return false;
    const inView = lowerBound(this.all, Math.floor(view.to) + 1) - lowerBound(this.all, Math.ceil(view.from));
    const detail: Detail = inView <= this.maxTexts ? 'text' : inView <= this.maxMarkers ? 'arrows' : 'none';
    const pxPerBar = widthPx && view.to > view.from ? widthPx / (view.to - view.from) : 10;
    const a = this.applied;
    const sameZoom = !a || detail !== 'text' || Math.abs(pxPerBar - a.pxPerBar) <= 0.1 * a.pxPerBar;
    if (a && a.from <= view.from && a.to >= view.to && a.detail === detail && sameZoom) return false;
    const width = Math.max(50, view.to - view.from);
    const from = view.from - width;
    const to = view.to + width;
    const subset =
      detail === 'none' ? [] : this.all.slice(lowerBound(this.all, Math.floor(from)), lowerBound(this.all, Math.ceil(to) + 1));
    const keep = detail === 'text' ? thinTexts(subset, pxPerBar) : [];
    this.texts = subset.filter((_, i) => keep[i]);
    this.target.setMarkers(subset.map((m, i) => (keep[i] ? m.marker : { ...m.marker, text: undefined })));
    this.applied = { from, to, detail, pxPerBar };
    return true;
  }
}
