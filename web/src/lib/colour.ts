/**
 * Colour difference for the label palette: sRGB hex to CIE L*a*b* (D65) and the CIE76
 * difference ΔE*ab (the Euclidean distance in L*a*b*). About 2.3 is "just noticeable"; the
 * palette asks for much more (lib/labels.ts: `MIN_DELTA_E_CANDLE`, `MIN_DELTA_E_LABEL`).
 *
 * `separate` moves a colour that is too close to the ones already taken: it keeps the colour
 * when it is far enough from all of them, else tries hue turns (HSL, by 30° steps, both ways)
 * and, failing those, lighter and darker variants, and takes the first far enough (or the
 * farthest it found). Deterministic: the same inputs give the same colour.
 */

/** "#rrggbb" or "#rgb" to [r, g, b] in 0..255; throws naming the value when it is no colour. */
export function hexToRgb(hex: string): [number, number, number] {
  let h = hex.replace('#', '');
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  if (!/^[0-9a-fA-F]{6}/.test(h)) throw new Error(`not a colour: "${hex}" (expected #rrggbb)`);
  const n = Number.parseInt(h.slice(0, 6), 16);
  return [(n >> 16) & 255, (n >> 8) & 255, n & 255];
}

const hex2 = (v: number) => Math.round(Math.min(255, Math.max(0, v))).toString(16).padStart(2, '0');
export const rgbToHex = ([r, g, b]: readonly number[]) => `#${hex2(r)}${hex2(g)}${hex2(b)}`;

/** CIE L*a*b* (D65 white) of an sRGB hex colour. */
export function hexToLab(hex: string): [number, number, number] {
  const lin = hexToRgb(hex).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const x = (lin[0] * 0.4124 + lin[1] * 0.3576 + lin[2] * 0.1805) / 0.95047;
  const y = lin[0] * 0.2126 + lin[1] * 0.7152 + lin[2] * 0.0722;
  const z = (lin[0] * 0.0193 + lin[1] * 0.1192 + lin[2] * 0.9505) / 1.08883;
  const f = (t: number) => (t > 216 / 24389 ? Math.cbrt(t) : (24389 / 27 * t + 16) / 116);
  return [116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))];
}

/** CIE76 ΔE*ab between two hex colours. */
export function deltaE76(a: string, b: string): number {
  const p = hexToLab(a);
  const q = hexToLab(b);
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}

function rgbToHsl([r, g, b]: readonly number[]): [number, number, number] {
  const [rr, gg, bb] = [r / 255, g / 255, b / 255];
  const max = Math.max(rr, gg, bb);
  const min = Math.min(rr, gg, bb);
  const l = (max + min) / 2;
  if (max === min) return [0, 0, l];
  const d = max - min;
  const s = l > 0.5 ? d / (2 - max - min) : d / (max + min);
  const h = max === rr ? (gg - bb) / d + (gg < bb ? 6 : 0) : max === gg ? (bb - rr) / d + 2 : (rr - gg) / d + 4;
  return [h / 6, s, l];
}

function hslToRgb(h: number, s: number, l: number): [number, number, number] {
  const hue = (p: number, q: number, t: number) => {
    const u = ((t % 1) + 1) % 1;
    if (u < 1 / 6) return p + (q - p) * 6 * u;
    if (u < 1 / 2) return q;
    if (u < 2 / 3) return p + (q - p) * (2 / 3 - u) * 6;
    return p;
  };
  if (s === 0) return [l * 255, l * 255, l * 255];
  const q = l < 0.5 ? l * (1 + s) : l + s - l * s;
  const p = 2 * l - q;
  return [hue(p, q, h + 1 / 3) * 255, hue(p, q, h) * 255, hue(p, q, h - 1 / 3) * 255];
}

/** The smallest ΔE76 from `color` to any of `taken` (Infinity when there is none). */
export function nearest(color: string, taken: readonly string[]): number {
  return taken.reduce((m, t) => Math.min(m, deltaE76(color, t)), Infinity);
}

/** `color`, or the first variant of it at least `minDelta` from every colour in `taken` (see above). */
export function separate(color: string, taken: readonly string[], minDelta: number): string {
  if (nearest(color, taken) >= minDelta) return color;
  const [h, s, l] = rgbToHsl(hexToRgb(color));
  const sat = Math.max(s, 0.45);
  const candidates: string[] = [];
  for (const light of [l, 0.62, 0.42, 0.75]) {
    for (let k = 1; k < 12; k++) {
      const turn = (k % 2 ? 1 : -1) * Math.ceil(k / 2) * (30 / 360);
      candidates.push(rgbToHex(hslToRgb(h + turn, sat, Math.min(0.85, Math.max(0.3, light)))));
    }
  }
  let best = color;
  let bestDelta = nearest(color, taken);
  for (const c of candidates) {
    const d = nearest(c, taken);
    if (d >= minDelta) return c;
    if (d > bestDelta) [best, bestDelta] = [c, d];
  }
  return best;
}
