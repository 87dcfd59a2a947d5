/**
 * Which request a prediction run sends: `planRequest` turns "visible" or "all" over the loaded
 * candles into the POST /api/predict or /api/predict/batch call, and `covers` says whether a
 * shown result already answers a planned one.
 *
 * A re-run of the shown result (a new model version) passes `times`: it asks for the same
 * range again, not for whatever is loaded or in view by then, so what was shown (and compared
 * with the annotations) is what gets refreshed.
 */
import { spanIndexRange, type IndexRange } from '@/lib/spans';
import type { Candle } from '@/types';
import type { LoadedModelInfo, PredictionResult } from '@/types/predictions';

/** The service's default serving.max_candles; a visible range never comes near it. */
const MAX_REQUEST_CANDLES = 20_000;
/** Context candles to send when the model does not say (indicator warm-up and look-ahead). */
const FALLBACK_LEADING = 60;
const FALLBACK_TRAILING = 5;
/** Bars in view when the chart has not reported its range yet (its opening view). */
const FALLBACK_VISIBLE_BARS = 150;

export type RunKind = PredictionResult['kind'];

export interface PlannedRequest {
  url: string;
  body: unknown;
  pair: string;
  timeframe: string;
  /** The predicted range, candle open times in seconds (inclusive). */
  start: number;
  end: number;
  kind: RunKind;
}

/**
 * The request for `kind` over the loaded candles (ascending), or null when there is nothing to
 * ask. `view`: indexes of the candles in view (null: the last 150). `times`: a fixed range
 * (seconds, inclusive) instead of the loaded candles ("all") or the view ("visible"); null
 * when no loaded candle lies in it.
 */
export function planRequest(
  kind: RunKind,
  target: { pair: string; timeframe: string; candles: readonly Candle[] },
  view: IndexRange | null,
  model: LoadedModelInfo | null,
  times: { start: number; end: number } | null = null,
): PlannedRequest | null {
  const { pair, timeframe, candles } = target;
  const n = candles.length;
  if (!n) return null;
  let fixed: IndexRange | null = null;
  if (times) {
    fixed = spanIndexRange(
      candles.map((c) => c.time),
      times.start,
      times.end,
    );
    if (!fixed) return null;
  }
  if (kind === 'all') {
    const start = candles[fixed ? fixed.from : 0].time;
    const end = candles[fixed ? fixed.to : n - 1].time;
    return { url: '/api/predict/batch', body: { pair, timeframe, start, end }, pair, timeframe, start, end, kind };
  }
  const range = fixed ?? view ?? { from: n - FALLBACK_VISIBLE_BARS, to: n - 1 };
  const from = Math.max(0, Math.min(n - 1, Math.floor(range.from)));
  const to = Math.max(from, Math.min(n - 1, Math.ceil(range.to)));
  const leading = model?.unlabeled_leading ?? FALLBACK_LEADING;
  const trailing = model?.unlabeled_trailing ?? FALLBACK_TRAILING;
  const reqFrom = Math.max(0, from - leading, to + trailing - MAX_REQUEST_CANDLES + 1);
  const reqTo = Math.min(n - 1, to + trailing);
  const body = { pair, timeframe, candles: candles.slice(reqFrom, reqTo + 1) };
  return { url: '/api/predict', body, pair, timeframe, start: candles[from].time, end: candles[to].time, kind };
}

/** Whether `r` (of model `version`, when given) already holds the predictions `p` asks for. */
export const covers = (r: PredictionResult | null, p: PlannedRequest, version: string | undefined): boolean =>
  Boolean(
    r && r.pair === p.pair && r.timeframe === p.timeframe && r.start <= p.start && r.end >= p.end && (!version || r.model_version === version),
  );
