/**
 * Strict saving: the rules a span annotation must meet before it is stored, beyond its shape
 * (lib/validation.ts). Server-side; pure `checkSpan`/`findDuplicate` (tests/annotation-rules.test.ts)
 * and `annotationFacts`, what the inference service says (its partitions and the labels its
 * models know), kept for a few seconds so saving stays fast.
 *
 * - the label is a configured label (config/pipeline.yaml, lib/labels.ts), a label a loaded
 *   model knows (GET /model/labels), or O;
 * - the pair and timeframe are a partition the service lists (GET /partitions);
 * - the times are snapped to the candle they fall in (the partition's candles start at its
 *   first_time, one timeframe apart), and refused when they lie before the first or after the
 *   last stored candle;
 * - an exact duplicate (partition, label, start and end) is refused with 409 and its id.
 *
 * While the service cannot be reached, annotating goes on: the labels are the configured ones
 * (and O), the partition is not checked, and the times snap to the timeframe's grid.
 */
import type { ApiError } from '@/types';
import { NEGATIVE_LABEL } from './constants';
import { forwardToInference } from './inference';
import { DEFAULT_LABELS } from './labels';
import { timeframeSeconds } from './spans';

export interface PartitionFacts {
  pair: string;
  timeframe: string;
  first_time?: number | null;
  last_time?: number | null;
}

export interface AnnotationFacts {
  /** Labels the service's models know; null when the service did not answer. */
  modelLabels: readonly string[] | null;
  /** The service's partitions; null when it did not answer. */
  partitions: readonly PartitionFacts[] | null;
}

export interface SpanFields {
  pair: string;
  timeframe: string;
  label: string;
  start_time: number;
  end_time: number;
}

export type RuleResult = { ok: true; start_time: number; end_time: number } | { ok: false; status: number; error: ApiError };

const CONFIGURED = DEFAULT_LABELS.map((l) => l.name);

/** The labels an annotation may carry, given what the service says. */
export function allowedLabels(facts: AnnotationFacts): Set<string> {
  return new Set([...CONFIGURED, ...(facts.modelLabels ?? []), NEGATIVE_LABEL]);
}

const fail = (status: number, field: string, message: string, what: string): RuleResult => ({
  ok: false,
  status,
  error: { detail: `Invalid ${what}: ${field} ${message}`, field, errors: [{ field, message }] },
});

/** The start of the candle holding `t`, on a grid of `step` seconds through `origin`. */
export function snapToCandle(t: number, step: number, origin = 0): number {
  return origin + Math.floor((t - origin) / step) * step;
}

/** Weekly candles start on a weekday the grid cannot know without the stored candles. */
const GRID_SNAPPABLE = (timeframe: string) => timeframe !== '1w';

const utc = (t: number) => `${new Date(t * 1000).toISOString().slice(0, 16).replace('T', ' ')} UTC`;

/**
 * Check `v` against the rules; on success the snapped times. `what` names the request in
 * messages; `check` leaves the label or the times alone (a PATCH that does not change them).
 */
export function checkSpan(
  v: SpanFields,
  facts: AnnotationFacts,
  what = 'annotation',
  check: { label?: boolean; times?: boolean } = {},
): RuleResult {
  const labels = allowedLabels(facts);
  if (check.label !== false && !labels.has(v.label)) {
    const known = [...labels].filter((l) => l !== NEGATIVE_LABEL);
    return fail(400, 'label', `${JSON.stringify(v.label)} is not a known label: use one of ${known.join(', ')} or ${NEGATIVE_LABEL}`, what);
  }
  if (check.times === false) return { ok: true, start_time: v.start_time, end_time: v.end_time };
  const step = timeframeSeconds(v.timeframe);
  let origin = 0;
  let snap = GRID_SNAPPABLE(v.timeframe);
  if (facts.partitions) {
    const p = facts.partitions.find((x) => x.pair === v.pair && x.timeframe === v.timeframe);
    if (!p) {
      const listed = facts.partitions.map((x) => `${x.pair} ${x.timeframe}`).join(', ') || 'none';
      return fail(400, 'pair', `${v.pair} ${v.timeframe} has no stored candles: choose a partition the service lists (${listed})`, what);
    }
    if (typeof p.first_time === 'number' && typeof p.last_time === 'number') {
      origin = p.first_time;
      snap = true;
      for (const field of ['start_time', 'end_time'] as const) {
        const t = v[field];
        if (t < p.first_time || t >= p.last_time + step) {
          return fail(400, field, `${utc(t)} lies off the stored candles (${utc(p.first_time)} to ${utc(p.last_time)})`, what);
        }
      }
    }
  }
  const start = snap ? snapToCandle(v.start_time, step, origin) : v.start_time;
  const end = snap ? snapToCandle(v.end_time, step, origin) : v.end_time;
  return { ok: true, start_time: start, end_time: end };
}

/** The stored annotation `v` would duplicate exactly (same partition, label and times), if any. */
export function findDuplicate<T extends SpanFields & { id: string }>(v: SpanFields, stored: readonly T[], exceptId?: string): T | null {
  return (
    stored.find(
      (a) =>
        a.id !== exceptId &&
        a.pair === v.pair &&
        a.timeframe === v.timeframe &&
        a.label === v.label &&
        a.start_time === v.start_time &&
        a.end_time === v.end_time,
    ) ?? null
  );
}

/** The 409 answer for a duplicate: the existing annotation's id, to select it instead. */
export function duplicateError(existingId: string): ApiError & { existing_id: string } {
  return {
    detail: `This span is already annotated with the same label and times (annotation ${existingId}).`,
    field: 'label',
    existing_id: existingId,
  };
}

// --- What the service says, kept for a few seconds ----------------------------------------

export const FACTS_TTL_MS = 5_000;
let kept: { at: number; facts: AnnotationFacts } | null = null;
let loader: () => Promise<AnnotationFacts> = loadFromService;

async function getJson(path: string): Promise<unknown | null> {
  try {
    const res = await forwardToInference({ method: 'GET', path });
    return res.ok ? await res.json() : null;
  } catch {
    return null;
  }
}

async function loadFromService(): Promise<AnnotationFacts> {
  const [partitions, labels] = await Promise.all([getJson('/partitions'), getJson('/model/labels')]);
  return {
    partitions: Array.isArray(partitions) ? (partitions as PartitionFacts[]) : null,
    modelLabels: Array.isArray(labels)
      ? labels.map((l) => (l as { name?: unknown })?.name).filter((n): n is string => typeof n === 'string')
      : null,
  };
}

/** The service's facts, at most FACTS_TTL_MS old (a failed look-up is not kept). */
export async function annotationFacts(now = Date.now()): Promise<AnnotationFacts> {
  if (kept && now - kept.at < FACTS_TTL_MS) return kept.facts;
  const facts = await loader();
  kept = facts.partitions ? { at: now, facts } : null;
  return facts;
}

/** Tests: answer with `fn` instead of asking the service (null: ask it again); forgets what was kept. */
export function setAnnotationFactsLoader(fn: (() => Promise<AnnotationFacts>) | null): void {
  loader = fn ?? loadFromService;
  kept = null;
}
