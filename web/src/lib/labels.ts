/**
 * Pattern labels and their colours. The defaults match config/pipeline.yaml's
 * labeling.labels (a test checks it), so annotating works while the service is down; the
 * service's GET /model/labels is merged in when it answers.
 */
import type { LabelDef } from '@/types';
import { NEGATIVE_LABEL } from './constants';

export const DEFAULT_LABELS: readonly LabelDef[] = [
  { name: 'bull_flag', color: '#26a69a' },
  { name: 'double_top', color: '#ef5350' },
  { name: 'head_and_shoulders', color: '#ab47bc' },
];

/** "Not a pattern": a negative annotation, saved with source human_correction. */
export const NEGATIVE_LABEL_DEF: LabelDef = { name: NEGATIVE_LABEL, color: '#78909c' };

const FALLBACK_PALETTE = ['#42a5f5', '#ffa726', '#66bb6a', '#ec407a', '#8d6e63', '#26c6da', '#d4e157', '#7e57c2'];

export function isColor(value: unknown): value is string {
  return typeof value === 'string' && /^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6}|[0-9a-fA-F]{8})$/.test(value);
}

/** A stable colour for a label nobody gave one. */
export function fallbackColor(name: string): string {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.charCodeAt(0)) >>> 0;
  return FALLBACK_PALETTE[h % FALLBACK_PALETTE.length];
}

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

/** Colour lookup over `labels`, with the negative label and a fallback for unknown ones. */
export function labelColorFn(labels: readonly LabelDef[]): (label: string) => string {
  const colors = new Map(labels.map((l) => [l.name, l.color]));
  colors.set(NEGATIVE_LABEL_DEF.name, NEGATIVE_LABEL_DEF.color);
  return (label) => colors.get(label) ?? fallbackColor(label);
}

/** "#26a69a" with alpha 0.2 -> "rgba(38, 166, 154, 0.2)". */
export function withAlpha(hex: string, alpha: number): string {
  let h = hex.replace('#', '');
  if (h.length === 3) h = [...h].map((c) => c + c).join('');
  const n = Number.parseInt(h.slice(0, 6), 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}
