/**
 * Finding 5: label colours distinct from the candle colours and from each other, measured with
 * CIE76 ΔE*ab (lib/colour.ts). Limits (lib/labels.ts): MIN_DELTA_E_CANDLE = 25 against the up
 * and down candles, MIN_DELTA_E_LABEL = 20 between two labels (2.3 is barely noticeable).
 */
import { describe, expect, it } from 'vitest';
import { deltaE76, hexToLab, separate } from '@/lib/colour';
import {
  CANDLE_DOWN,
  CANDLE_UP,
  DEFAULT_LABELS,
  MIN_DELTA_E_CANDLE,
  MIN_DELTA_E_LABEL,
  NEGATIVE_LABEL_DEF,
  labelPalette,
} from '@/lib/labels';
import type { LabelDef } from '@/types';

/** What a pipeline-trained model reports (GET /model/labels): the clashing pair among them. */
const MODEL_LABELS: LabelDef[] = [
  { name: 'bearish_engulfing', color: '#39bac6' },
  { name: 'bearish_harami', color: '#8bc639' },
  { name: 'bull_flag', color: '#26a69a' },
  { name: 'bullish_doji', color: '#c639a0' },
  { name: 'bullish_engulfing', color: '#c63961' },
  { name: 'bullish_hammer', color: '#39c3c6' },
  { name: 'bullish_harami', color: '#3955c6' },
  { name: 'double_top', color: '#ef5350' },
  { name: 'head_and_shoulders', color: '#ab47bc' },
];

function checkDistinct(labels: readonly LabelDef[]) {
  const all = [...labels, NEGATIVE_LABEL_DEF];
  for (const l of all) {
    for (const candle of [CANDLE_UP, CANDLE_DOWN]) {
      expect(deltaE76(l.color, candle), `${l.name} ${l.color} vs candle ${candle}`).toBeGreaterThanOrEqual(MIN_DELTA_E_CANDLE);
    }
  }
  for (let i = 0; i < all.length; i++) {
    for (let j = i + 1; j < all.length; j++) {
      const d = deltaE76(all[i].color, all[j].color);
      expect(d, `${all[i].name} ${all[i].color} vs ${all[j].name} ${all[j].color}`).toBeGreaterThanOrEqual(MIN_DELTA_E_LABEL);
    }
  }
}

describe('CIE76 colour difference', () => {
  it('measures known differences', () => {
    expect(deltaE76('#000000', '#ffffff')).toBeCloseTo(100, 1);
    expect(deltaE76('#26a69a', '#26a69a')).toBe(0);
    const [l, a, b] = hexToLab('#ff0000');
    expect([l, a, b].map((v) => Math.round(v))).toEqual([53, 80, 67]);
    // The pair: barely different.
    expect(deltaE76('#39bac6', '#39c3c6')).toBeLessThan(8);
  });

  it('refuses a value that is no colour, naming it', () => {
    expect(() => deltaE76('teal', '#000000')).toThrow(/"teal"/);
  });

  it('separate keeps a distinct colour and moves a close one far enough', () => {
    expect(separate('#26a69a', ['#ef5350'], 20)).toBe('#26a69a');
    const moved = separate('#39c3c6', ['#39bac6'], 20);
    expect(deltaE76(moved, '#39bac6')).toBeGreaterThanOrEqual(20);
  });
});

describe('the label palette', () => {
  it('the configured labels keep their colours, none like a candle or each other', () => {
    const p = labelPalette(DEFAULT_LABELS, null);
    expect(p.labels.map((l) => l.color)).toEqual(DEFAULT_LABELS.map((l) => l.color));
    checkDistinct(p.labels);
  });

  it("a model's candlestick labels are made distinct (bearish_engulfing vs bullish_hammer)", () => {
    const p = labelPalette(DEFAULT_LABELS, MODEL_LABELS);
    checkDistinct(p.labels);
    expect(p.colorOf('bull_flag')).toBe('#26a69a');
    expect(p.colorOf('double_top')).toBe('#ef5350');
    expect(deltaE76(p.colorOf('bearish_engulfing'), p.colorOf('bullish_hammer'))).toBeGreaterThanOrEqual(MIN_DELTA_E_LABEL);
  });

  it('a label given a candle colour is moved off it', () => {
    const p = labelPalette([{ name: 'grey_flag', color: CANDLE_UP }, ...DEFAULT_LABELS], null);
    checkDistinct(p.labels);
  });
});
