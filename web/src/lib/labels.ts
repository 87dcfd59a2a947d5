/**
 * Pattern labels and their colours: the one place the web app gets a label's colour from.
 *
 * The defaults match config/pipeline.yaml's labeling.labels (a test checks it), so annotating
 * works while the service is down; the service's GET /model/labels is merged in when it
 * answers. A label nobody gave a colour gets `fallbackColor`, the same algorithm as the
 * pipeline's `ml_platform.bundle.generated_color` (which the service uses for such labels), so
 * an unknown label has the same colour whether the service answered or not. Components colour
 * labels only through a `LabelPalette` (`labelPalette`), never with colours of their own.
 */
import type { LabelDef } from '@/types';
import { separate } from './colour';
import { NEGATIVE_LABEL } from './constants';

/**
 * The candle colours (components/chart/theme.ts draws with these): greys, so no label colour
 * is mistaken for an up or down candle. The configured bull_flag and double_top colours are the
 * classic teal and red, which used to be the candle colours.
 */
export const CANDLE_UP = '#d1d4dc';
export const CANDLE_DOWN = '#4a4f5c';
/**
 * Least CIE76 ΔE*ab (lib/colour.ts) between a label colour and a candle colour, and between two
 * label colours of the palette. 2.3 is barely noticeable; 25 and 20 are told apart at a glance
 * on the chart's dark background (tests/labels.test.ts checks the default palette and the model's
 * candlestick labels against them). `distinctColors` moves a label's colour only when needed.
 */
export const MIN_DELTA_E_CANDLE = 25;
export const MIN_DELTA_E_LABEL = 20;

export const DEFAULT_LABELS: readonly LabelDef[] = [
  { name: 'bull_flag', color: '#26a69a' },
  { name: 'double_top', color: '#ef5350' },
  { name: 'head_and_shoulders', color: '#ab47bc' },
];

/**
 * The two layers of labels: chart patterns (what annotators mark: the configured labels, and
 * any other label a model adds) and candlestick patterns (TA-Lib's CDL labels, named by the
 * pipeline `bullish_{pattern}` / `bearish_{pattern}`, ml_platform/labeling/cdl.py). The
 * candlestick layer is drawn apart and never compared with the annotators' spans.
 */
export type LabelLayer = 'chart' | 'candlestick';

const CANDLESTICK_NAME = /^(?:bullish|bearish)_[a-z0-9]+$/;
const CONFIGURED_NAMES: ReadonlySet<string> = new Set(DEFAULT_LABELS.map((l) => l.name));

export function labelLayer(label: string): LabelLayer {
  return CANDLESTICK_NAME.test(label) && !CONFIGURED_NAMES.has(label) ? 'candlestick' : 'chart';
}

export const isCandlestickLabel = (label: string) => labelLayer(label) === 'candlestick';

/** "Not a pattern": a negative annotation, saved with source human_correction. */
export const NEGATIVE_LABEL_DEF: LabelDef = { name: NEGATIVE_LABEL, color: '#78909c' };

export function isColor(value: unknown): value is string {
  return typeof value === 'string' && /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(value);
}

// --- The fallback colour: a port of ml_platform.bundle.generated_color ----------------------

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** zlib.crc32 of the UTF-8 bytes of `text`. */
export function crc32(text: string): number {
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = CRC_TABLE[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** Python's float `%` by 1.0 (the result takes the divisor's sign). */
const mod1 = (x: number) => {
  const r = x % 1.0;
  return r !== 0 && r < 0 ? r + 1.0 : r;
};

/** colorsys._v */
function hueChannel(m1: number, m2: number, hue: number): number {
  const h = mod1(hue);
  if (h < 1.0 / 6.0) return m1 + (m2 - m1) * h * 6.0;
  if (h < 0.5) return m2;
  if (h < 2.0 / 3.0) return m1 + (m2 - m1) * (2.0 / 3.0 - h) * 6.0;
  return m1;
}

/** Python's round() to an integer: halves to even. */
function roundHalfEven(x: number): number {
  const r = Math.round(x);
  return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const hex2 = (channel: number) => roundHalfEven(channel * 255).toString(16).padStart(2, '0');

/**
 * A stable colour for a label nobody gave one: hue from the CRC-32 of its name, lightness 0.5,
 * saturation 0.55, exactly as the pipeline generates it for the model bundle and the service.
 */
export function fallbackColor(name: string): string {
  const h = (crc32(name) % 360) / 360.0;
  const l = 0.5;
  const s = 0.55;
  const m2 = l <= 0.5 ? l * (1.0 + s) : l + s - l * s;
  const m1 = 2.0 * l - m2;
  return `#${hex2(hueChannel(m1, m2, h + 1.0 / 3.0))}${hex2(hueChannel(m1, m2, h))}${hex2(hueChannel(m1, m2, h - 1.0 / 3.0))}`;
}

// --- Merging and looking up ----------------------------------------------------------------

/**
 * The configured labels, then the service's new ones, in that order; the service's colour wins
 * for a label both know (it comes from the trained model's bundle). Entries that are not
 * {name, color} objects are skipped.
 */
export function mergeLabels(configured: readonly LabelDef[], fromService: unknown): LabelDef[] {
  const merged = new Map<string, LabelDef>();
  for (const l of configured) merged.set(l.name, { ...l });
  if (Array.isArray(fromService)) {
    for (const item of fromService) {
      const name = (item as { name?: unknown })?.name;
      if (typeof name !== 'string' || !name || name === NEGATIVE_LABEL) continue;
      const color = (item as { color?: unknown }).color;
      merged.set(name, { name, color: isColor(color) ? color : (merged.get(name)?.color ?? fallbackColor(name)) });
    }
  }
  return [...merged.values()];
}

/**
 * `labels` with colours distinct from the candles and from each other (the ΔE limits above):
 * the chart-pattern labels first, in order, then the candlestick ones; each keeps its colour
 * when it is far enough from the candles and the labels before it, else gets the nearest
 * variant that is (lib/colour.ts `separate`). The negative label's grey counts as taken.
 */
export function distinctColors(labels: readonly LabelDef[]): LabelDef[] {
  const order = [...labels.filter((l) => !isCandlestickLabel(l.name)), ...labels.filter((l) => isCandlestickLabel(l.name))];
  const candles = [CANDLE_UP, CANDLE_DOWN];
  const taken: string[] = [NEGATIVE_LABEL_DEF.color];
  const colour = new Map<string, string>();
  for (const l of order) {
    let c = separate(l.color, candles, MIN_DELTA_E_CANDLE);
    c = separate(c, [...candles, ...taken], Math.min(MIN_DELTA_E_CANDLE, MIN_DELTA_E_LABEL));
    taken.push(c);
    colour.set(l.name, c);
  }
  return labels.map((l) => ({ ...l, color: colour.get(l.name) ?? l.color }));
}

/** Colour lookup over `labels`, with the negative label and a fallback for unknown ones. */
export function labelColorFn(labels: readonly LabelDef[]): (label: string) => string {
  const colors = new Map(labels.map((l) => [l.name, l.color]));
  colors.set(NEGATIVE_LABEL_DEF.name, NEGATIVE_LABEL_DEF.color);
  return (label) => colors.get(label) ?? fallbackColor(label);
}

/** The labels to offer and how to colour any label: what every component colours with. */
export interface LabelPalette {
  /** The pattern labels to offer (configured, then the service's), without the negative one. */
  labels: readonly LabelDef[];
  /** The colour of any label: known, negative, or unknown (fallbackColor). */
  colorOf: (label: string) => string;
}

export function labelPalette(configured: readonly LabelDef[], fromService: unknown): LabelPalette {
  const labels = distinctColors(mergeLabels(configured, fromService));
  return { labels, colorOf: labelColorFn(labels) };
}

/**
 * The dialog's label choices: the offered labels, `current` when it is none of them (an
 * annotation or prediction of a label the list does not know), then "not a pattern"; each in
 * the palette's colour.
 */
export function labelChoices(palette: LabelPalette, current: string): LabelDef[] {
  const names = palette.labels.map((l) => l.name);
  if (current && current !== NEGATIVE_LABEL && !names.includes(current)) names.push(current);
  names.push(NEGATIVE_LABEL);
  return names.map((name) => ({ name, color: palette.colorOf(name) }));
}

/** "#26a69a" with alpha 0.2 -> "rgba(38, 166, 154, 0.2)". */
export function withAlpha(hex: string, alpha: number): string {
  let h = hex.replace('#', '');
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const n = Number.parseInt(h.slice(0, 6), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
