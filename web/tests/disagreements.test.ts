import { describe, expect, it } from 'vitest';
import { findDisagreements, overlapSeconds, spansMatch } from '@/lib/predictions/disagreements';
import type { HumanSpan, PredictionSpan } from '@/types/predictions';

const H = 3600;
const T0 = 1_700_000_000 - (1_700_000_000 % H);
/** Candle index -> time (1h candles). */
const t = (i: number) => T0 + i * H;

let n = 0;
function human(label: string, from: number, to: number, partition = { pair: 'EURUSD', timeframe: '1h' }): HumanSpan {
  return { id: `h${++n}`, ...partition, label, start_time: t(from), end_time: t(to) };
}
function predicted(label: string, from: number, to: number, confidence = 0.9, partition = { pair: 'EURUSD', timeframe: '1h' }): PredictionSpan {
  return {
    id: `${partition.pair}|${partition.timeframe}|${t(from)}|${label}`,
    ...partition,
    label,
    start_time: t(from),
    end_time: t(to),
    confidence,
    model_version: 'v1',
  };
}
const kinds = (r: ReturnType<typeof findDisagreements>) => r.disagreements.map((d) => d.kind).sort();

describe('span overlap', () => {
  it('counts candles inclusively', () => {
    const a = { start_time: t(0), end_time: t(3) }; // 4 candles
    expect(overlapSeconds(a, { start_time: t(3), end_time: t(5) }, H)).toBe(H); // shares one candle
    expect(overlapSeconds(a, { start_time: t(4), end_time: t(5) }, H)).toBe(0); // adjacent
    expect(overlapSeconds(a, a, H)).toBe(4 * H);
  });

  it('matches above half of the shorter span, not at exactly half', () => {
    const a = { start_time: t(0), end_time: t(3) }; // 4 candles
    expect(spansMatch(a, { start_time: t(2), end_time: t(5) }, H)).toBe(false); // 2 of 4: exactly 50%
    expect(spansMatch(a, { start_time: t(1), end_time: t(4) }, H)).toBe(true); // 3 of 4
    // The shorter span decides: 2 candles of a 3-candle span (67%) even though the other has 10.
    expect(spansMatch({ start_time: t(0), end_time: t(9) }, { start_time: t(8), end_time: t(10) }, H)).toBe(true);
  });
});

describe('findDisagreements', () => {
  it('finds the three kinds', () => {
    const r = findDisagreements(
      [human('bull_flag', 0, 9), human('double_top', 20, 29), human('bull_flag', 40, 49)],
      [predicted('bull_flag', 1, 9), predicted('head_and_shoulders', 21, 28), predicted('double_top', 60, 65)],
    );
    expect(kinds(r)).toEqual(['label_mismatch', 'missed_by_human', 'missed_by_model']);
    const byKind = Object.fromEntries(r.disagreements.map((d) => [d.kind, d]));
    expect(byKind.missed_by_model.human?.start_time).toBe(t(40));
    expect(byKind.missed_by_model.prediction).toBeNull();
    expect(byKind.missed_by_human.prediction?.label).toBe('double_top');
    expect(byKind.missed_by_human.human).toBeNull();
    expect(byKind.label_mismatch.prediction?.label).toBe('head_and_shoulders');
    expect(byKind.label_mismatch.human?.label).toBe('double_top');
    // The highlight is where the model drew its span.
    expect([byKind.label_mismatch.start_time, byKind.label_mismatch.end_time]).toEqual([t(21), t(28)]);
    expect(r.summary).toEqual({
      predictions: 3,
      agreements: 1,
      dismissed: 0,
      missed_by_model: 1,
      missed_by_human: 1,
      label_mismatch: 1,
    });
    expect(r.agreedPredictionIds).toEqual([predicted('bull_flag', 1, 9).id]);
  });

  it('does not match spans that overlap by exactly 50%', () => {
    const r = findDisagreements([human('bull_flag', 0, 3)], [predicted('bull_flag', 2, 5)]);
    expect(kinds(r)).toEqual(['missed_by_human', 'missed_by_model']);
    expect(r.summary.agreements).toBe(0);
  });

  it('matches nested spans: a short prediction inside a long human span, and the reverse', () => {
    const inside = findDisagreements([human('bull_flag', 0, 29)], [predicted('bull_flag', 10, 13)]);
    expect(inside.disagreements).toEqual([]);
    expect(inside.summary.agreements).toBe(1);
    const around = findDisagreements([human('double_top', 10, 13)], [predicted('bull_flag', 0, 29)]);
    expect(kinds(around)).toEqual(['label_mismatch']);
  });

  it('handles several predictions over one human span', () => {
    // The model split the pattern in two and labelled a third piece differently.
    const h = human('bull_flag', 0, 29);
    const r = findDisagreements([h], [predicted('bull_flag', 0, 9), predicted('bull_flag', 10, 19), predicted('double_top', 20, 29)]);
    expect(r.summary.agreements).toBe(2);
    expect(kinds(r)).toEqual(['label_mismatch']);
    expect(r.disagreements[0].human?.id).toBe(h.id);
    // The human span is matched, so it is not missed by the model.
    expect(r.summary.missed_by_model).toBe(0);
  });

  it('pairs a mismatched prediction with the human span it overlaps most', () => {
    const small = human('double_top', 0, 5);
    const big = human('head_and_shoulders', 6, 19);
    const r = findDisagreements([small, big], [predicted('bull_flag', 2, 17)]);
    // The small span shares 4 of its 6 candles: matched too (not missed), but the big one is paired.
    expect(kinds(r)).toEqual(['label_mismatch']);
    expect(r.disagreements[0].human?.id).toBe(big.id);
  });

  it('compares only spans of the same pair and timeframe', () => {
    const gbp = { pair: 'GBPUSD', timeframe: '1h' };
    const eur4h = { pair: 'EURUSD', timeframe: '4h' };
    const r = findDisagreements([human('bull_flag', 0, 9, gbp)], [predicted('bull_flag', 0, 9), predicted('bull_flag', 0, 9, 0.9, eur4h)]);
    expect(kinds(r)).toEqual(['missed_by_human', 'missed_by_human', 'missed_by_model']);
    expect(r.disagreements.find((d) => d.kind === 'missed_by_model')?.pair).toBe('GBPUSD');
  });

  it('treats a negative annotation over a prediction as dismissed, and an unmatched one as agreement', () => {
    const r = findDisagreements(
      [human('O', 0, 9), human('O', 50, 59)],
      [predicted('bull_flag', 0, 9), predicted('double_top', 20, 29)],
    );
    expect(kinds(r)).toEqual(['missed_by_human']);
    expect(r.summary.dismissed).toBe(1);
    expect(r.dismissedPredictionIds).toEqual([predicted('bull_flag', 0, 9).id]);
    // A positive span of the model's label wins over a negative one on the same candles.
    const both = findDisagreements([human('O', 0, 9), human('bull_flag', 0, 9)], [predicted('bull_flag', 0, 9)]);
    expect(both.summary.agreements).toBe(1);
    expect(both.disagreements).toEqual([]);
  });

  it('orders disagreements by start time and works on empty input', () => {
    const r = findDisagreements([human('bull_flag', 100, 110)], [predicted('double_top', 50, 60), predicted('bull_flag', 0, 5)]);
    expect(r.disagreements.map((d) => d.start_time)).toEqual([t(0), t(50), t(100)]);
    expect(findDisagreements([], []).disagreements).toEqual([]);
  });

  it('scales to thousands of spans', () => {
    const humans = Array.from({ length: 3000 }, (_, i) => human(i % 2 ? 'bull_flag' : 'double_top', i * 20, i * 20 + 9));
    const preds = Array.from({ length: 3000 }, (_, i) => predicted('bull_flag', i * 20 + 1, i * 20 + 10));
    const started = performance.now();
    const r = findDisagreements(humans, preds);
    expect(performance.now() - started).toBeLessThan(500);
    expect(r.summary.agreements).toBe(1500);
    expect(r.summary.label_mismatch).toBe(1500);
  });
});

describe('disagreements only where the model looked', () => {
  const range = (from: number, to: number) => ({ pair: 'EURUSD', timeframe: '1h', start: t(from), end: t(to) });

  it('a human span outside every predicted range is not missed by the model', () => {
    const far = human('bull_flag', 0, 9); // two months earlier, say
    const inside = human('double_top', 100, 109);
    const r = findDisagreements([far, inside], [], [range(95, 120)]);
    expect(r.disagreements.map((d) => d.id)).toEqual([`missed_by_model:${inside.id}`]);
    expect(r.summary.missed_by_model).toBe(1);
  });

  it('a span only partly inside the range is not counted either; one inside another range is', () => {
    const straddling = human('bull_flag', 90, 99);
    const second = human('bull_flag', 200, 205);
    const r = findDisagreements([straddling, second], [], [range(95, 120), range(190, 210)]);
    expect(r.disagreements.map((d) => d.human?.id)).toEqual([second.id]);
  });

  it('ranges of another partition do not count', () => {
    const h = human('bull_flag', 100, 105);
    const r = findDisagreements([h], [], [{ ...range(0, 500), pair: 'GBPUSD' }]);
    expect(r.disagreements).toEqual([]);
  });

  it('without ranges every human span is compared (the whole history was predicted)', () => {
    expect(findDisagreements([human('bull_flag', 0, 9)], []).summary.missed_by_model).toBe(1);
  });

  it('predictions still match human spans outside the range (agreements are not lost)', () => {
    const h = human('bull_flag', 0, 9);
    const r = findDisagreements([h], [predicted('bull_flag', 1, 9)], [range(50, 60)]);
    expect(r.summary.agreements).toBe(1);
    expect(r.disagreements).toEqual([]);
  });
});
