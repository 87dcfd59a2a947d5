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
  private applied: { from: number; to: number; detail: Detail } | null = null;

  constructor(
    private readonly target: MarkerTarget,
    private readonly maxTexts: number = MAX_MARKER_TEXTS,
    private readonly maxMarkers: number = MAX_MARKERS,
  ) {}

  /** What the plugin was last given: 'text', 'arrows' or 'none' (for the browser test). */
  get detail(): Detail | null {
    return this.applied?.detail ?? null;
  }

  /** Every marker of the overlay (any order), and the current view (logical indexes). */
  setMarkers(all: readonly IndexedMarker[], view: { from: number; to: number } | null): void {
    this.all = [...all].sort((a, b) => a.index - b.index);
    this.applied = null;
    if (!this.update(view)) this.target.setMarkers([]);
  }

  /** The view changed. Returns true when the plugin got a new set of markers. */
  update(view: { from: number; to: number } | null): boolean {
    if (!view) return false;
    const inView = lowerBound(this.all, Math.floor(view.to) + 1) - lowerBound(this.all, Math.ceil(view.from));
    const detail: Detail = inView <= this.maxTexts ? 'text' : inView <= this.maxMarkers ? 'arrows' : 'none';
    const a = this.applied;
    if (a && a.from <= view.from && a.to >= view.to && a.detail === detail) return false;
    const width = Math.max(50, view.to - view.from);
    const from = view.from - width;
    const to = view.to + width;
    const subset =
      detail === 'none' ? [] : this.all.slice(lowerBound(this.all, Math.floor(from)), lowerBound(this.all, Math.ceil(to) + 1));
    this.target.setMarkers(subset.map((m) => (detail === 'text' ? m.marker : { ...m.marker, text: undefined })));
    this.applied = { from, to, detail };
    return true;
  }
}
