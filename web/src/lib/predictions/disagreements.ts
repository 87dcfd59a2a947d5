/**
 * Where the model and the annotators disagree: a pure function of the human spans and the
 * predicted spans, tested in tests/disagreements.test.ts.
 *
 * Only spans of the same pair and timeframe are compared. Two spans are matched when they
 * overlap by more than half of the shorter one (exactly half is not enough). Lengths count
 * candles: a span [start, end] (both inclusive) lasts `end - start + step` seconds, with `step`
 * the timeframe's seconds.
 *
 * - a human span no prediction matches, lying inside a range the model predicted over:
 *   `missed_by_model` (a span outside every predicted range says nothing about the model);
 * - a prediction no human span matches: `missed_by_human`;
 * - a prediction matched only by human spans of other labels: `label_mismatch` (paired with
 *   the human span it overlaps most);
 * - a prediction matched by a human span of its label: an agreement (one human span may agree
 *   with several predictions, e.g. a pattern the model split in two);
 * - negative annotations (label O, "not a pattern") are human spans that say the model is
 *   wrong on purpose: a prediction they match is `dismissed` (reviewed, no longer a
 *   disagreement), and an O span no prediction matches is an agreement (both say nothing).
 */
import { NEGATIVE_LABEL } from '@/lib/constants';
import { timeframeSeconds } from '@/lib/spans';
import type {
  Disagreement,
  DisagreementReport,
  DisagreementSummary,
  HumanSpan,
  PredictionSpan,
} from '@/types/predictions';

interface Interval {
  start_time: number;
  end_time: number;
}

/** Seconds covered by an inclusive span of candles `step` seconds apart. */
function length(span: Interval, step: number): number {
  return span.end_time - span.start_time + step;
}

/** Seconds two inclusive spans share (0 when they do not touch). */
export function overlapSeconds(a: Interval, b: Interval, step: number): number {
  const shared = Math.min(a.end_time, b.end_time) - Math.max(a.start_time, b.start_time) + step;
  return Math.max(0, shared);
}

/** True when a and b overlap by more than half of the shorter span. */
export function spansMatch(a: Interval, b: Interval, step: number): boolean {
  const shorter = Math.min(length(a, step), length(b, step));
  return 2 * overlapSeconds(a, b, step) > shorter;
}

const partitionOf = (s: { pair: string; timeframe: string }) => `${s.pair}|${s.timeframe}`;

function groupByPartition<T extends { pair: string; timeframe: string }>(items: readonly T[]): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = partitionOf(item);
    let list = groups.get(key);
    if (!list) groups.set(key, (list = []));
    list.push(item);
  }
  return groups;
}

/**
 * Human spans sorted by start, with the running maximum of their end times, so the spans
 * overlapping [start, end] are found without looking at all of them.
 */
class HumanIndex {
  private readonly spans: HumanSpan[];
  private readonly maxEnd: number[];

  constructor(spans: readonly HumanSpan[]) {
    this.spans = [...spans].sort((a, b) => a.start_time - b.start_time || a.end_time - b.end_time);
    this.maxEnd = [];
    let max = -Infinity;
    for (const s of this.spans) this.maxEnd.push((max = Math.max(max, s.end_time)));
  }

  /** Human spans sharing at least one second with [start, end]. */
  overlapping(start: number, end: number): HumanSpan[] {
    // Last span starting at or before `end`, then back while some earlier span may still reach `start`.
    let lo = 0;
    let hi = this.spans.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.spans[mid].start_time <= end) lo = mid + 1;
      else hi = mid;
    }
    const out: HumanSpan[] = [];
    for (let i = lo - 1; i >= 0 && this.maxEnd[i] >= start; i--) {
      if (this.spans[i].end_time >= start) out.push(this.spans[i]);
    }
    return out;
  }
}

/** A range of a partition the model predicted over (the first and last candle, inclusive). */
export interface PredictedRange {
  pair: string;
  timeframe: string;
  start: number;
  end: number;
}

/** True when `span` lies entirely inside one of `ranges` of its partition. */
export function insidePredictedRange(span: HumanSpan, ranges: readonly PredictedRange[]): boolean {
  return ranges.some(
    (r) => r.pair === span.pair && r.timeframe === span.timeframe && r.start <= span.start_time && span.end_time <= r.end,
  );
}

/**
 * Compare `human` with `predicted` (see the module docstring). Both may hold several
 * partitions; only spans of the same pair and timeframe are compared. `ranges`: where the
 * model looked; a human span outside all of them is never `missed_by_model` (null: everywhere,
 * for callers that pass only predictions of the whole history).
 *
 * Returns the disagreements ordered by start time, the ids of the agreeing and the dismissed
 * predictions, and the counts.
 */
export function findDisagreements(
  human: readonly HumanSpan[],
  predicted: readonly PredictionSpan[],
  ranges: readonly PredictedRange[] | null = null,
): DisagreementReport {
  const disagreements: Disagreement[] = [];
  const agreed: string[] = [];
  const dismissed: string[] = [];
  const humanByPartition = groupByPartition(human);
  const predictedByPartition = groupByPartition(predicted);

  for (const key of new Set([...humanByPartition.keys(), ...predictedByPartition.keys()])) {
    const humans = humanByPartition.get(key) ?? [];
    const predictions = predictedByPartition.get(key) ?? [];
    const step = timeframeSeconds((humans[0] ?? predictions[0]).timeframe);
    const index = new HumanIndex(humans);
    const matchedHumans = new Set<string>();

    for (const p of predictions) {
      const matches = index.overlapping(p.start_time, p.end_time).filter((h) => spansMatch(h, p, step));
      for (const h of matches) matchedHumans.add(h.id);
      const base = { pair: p.pair, timeframe: p.timeframe, start_time: p.start_time, end_time: p.end_time, prediction: p };
      if (!matches.length) {
        disagreements.push({ ...base, id: `missed_by_human:${p.id}`, kind: 'missed_by_human', human: null });
      } else if (matches.some((h) => h.label === p.label)) {
        agreed.push(p.id);
      } else if (matches.some((h) => h.label === NEGATIVE_LABEL)) {
        dismissed.push(p.id);
      } else {
        const best = matches.reduce((a, b) => (overlapSeconds(b, p, step) > overlapSeconds(a, p, step) ? b : a));
        disagreements.push({ ...base, id: `label_mismatch:${p.id}`, kind: 'label_mismatch', human: best });
      }
    }

    for (const h of humans) {
      if (h.label === NEGATIVE_LABEL || matchedHumans.has(h.id)) continue;
      if (ranges && !insidePredictedRange(h, ranges)) continue;
      disagreements.push({
        id: `missed_by_model:${h.id}`,
        kind: 'missed_by_model',
        pair: h.pair,
        timeframe: h.timeframe,
        start_time: h.start_time,
        end_time: h.end_time,
        human: h,
        prediction: null,
      });
    }
  }

  disagreements.sort((a, b) => a.start_time - b.start_time || a.end_time - b.end_time || a.id.localeCompare(b.id));
  const summary: DisagreementSummary = {
    predictions: predicted.length,
    agreements: agreed.length,
    dismissed: dismissed.length,
    missed_by_model: 0,
    missed_by_human: 0,
    label_mismatch: 0,
  };
  for (const d of disagreements) summary[d.kind]++;
  return { disagreements, agreedPredictionIds: agreed, dismissedPredictionIds: dismissed, summary };
}
