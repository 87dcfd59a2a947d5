/**
 * Reading the service's answers: the model of a partition in GET /model/info, per-label F1
 * from its training metrics, and a prediction response turned into what the overlay keeps.
 */
import { NEGATIVE_LABEL } from '@/lib/constants';
import type {
  ClassMetrics,
  LoadedModelInfo,
  ModelInfoResponse,
  PredictedCandle,
  PredictResponse,
  PredictionResult,
  PredictionSpan,
} from '@/types/predictions';

/** The loaded model serving pair/timeframe, or null. */
export function modelFor(info: ModelInfoResponse | null, pair: string, timeframe: string): LoadedModelInfo | null {
  return info?.models?.find((m) => m.pair === pair && m.timeframe === timeframe) ?? null;
}

/** The pattern name of a class: "B-bull_flag" -> "bull_flag", "O" -> "O", "bull_flag" -> "bull_flag". */
export function labelOfClass(cls: string): string {
  return /^[BI]-/.test(cls) ? cls.slice(2) : cls;
}

/** Per-class F1 as recorded at training, in the order the bundle lists them. */
export function classF1(model: LoadedModelInfo | null): { cls: string; f1: number; support: number | null }[] {
  const perClass = model?.metrics?.per_class;
  if (!perClass || typeof perClass !== 'object') return [];
  return Object.entries(perClass)
    .filter(([, m]) => typeof (m as ClassMetrics)?.f1 === 'number')
    .map(([cls, m]) => ({ cls, f1: (m as ClassMetrics).f1!, support: typeof m.support === 'number' ? m.support : null }));
}

/**
 * One F1 for a pattern label: its own class's F1 (window mode), or the mean of its B- and I-
 * classes' F1 weighted by their support (BIO mode; unweighted when the support is unknown).
 * Null when the metrics do not mention the label.
 */
export function labelF1(model: LoadedModelInfo | null, label: string): number | null {
  const classes = classF1(model).filter((c) => labelOfClass(c.cls) === label);
  if (!classes.length) return null;
  const exact = classes.find((c) => c.cls === label);
  if (exact) return exact.f1;
  const weights = classes.map((c) => c.support ?? 0);
  const total = weights.reduce((a, b) => a + b, 0);
  if (total > 0) return classes.reduce((sum, c, i) => sum + c.f1 * weights[i], 0) / total;
  return classes.reduce((sum, c) => sum + c.f1, 0) / classes.length;
}

/** The pattern labels a model can emit, from its labels or classes (O left out). */
export function modelLabels(model: LoadedModelInfo | null): string[] {
  if (!model) return [];
  const names = model.labels?.length ? model.labels.map((l) => l.name) : (model.classes ?? []).map(labelOfClass);
  return [...new Set(names)].filter((n) => n && n !== NEGATIVE_LABEL);
}

/**
 * A prediction response as the overlay keeps it: pattern candles only (O dropped), spans with
 * their partition and model version. `start`/`end` are the times of the range asked for.
 */
export function toPredictionResult(
  response: PredictResponse,
  request: { pair: string; timeframe: string; start: number; end: number; kind: PredictionResult['kind'] },
): PredictionResult {
  const version = String(response.model_info?.version ?? '');
  const { pair, timeframe } = request;
  const candles: PredictedCandle[] = [];
  for (const p of response.predictions ?? []) {
    if (p.label !== NEGATIVE_LABEL) candles.push({ time: p.time, label: p.label, confidence: p.confidence });
  }
  candles.sort((a, b) => a.time - b.time);
  const spans: PredictionSpan[] = (response.spans ?? [])
    .filter((s) => s.label !== NEGATIVE_LABEL)
    .map((s) => ({
      id: `${pair}|${timeframe}|${s.start_time}|${s.label}`,
      pair,
      timeframe,
      label: s.label,
      start_time: s.start_time,
      end_time: s.end_time,
      confidence: s.avg_confidence,
      model_version: version,
    }))
    .sort((a, b) => a.start_time - b.start_time);
  return { ...request, model_version: version, candles, spans };
}

/** "2026-11-29 03:20 UTC" of the ISO time a model was trained at; the text itself when it is no time. */
export function formatTrainedAt(iso: string | null | undefined): string {
  if (!iso) return 'at an unknown time';
  const ms = Date.parse(/[zZ]|[+-]\d\d:?\d\d$/.test(iso) ? iso : `${iso}Z`);
  return Number.isFinite(ms) ? `${new Date(ms).toISOString().slice(0, 16).replace('T', ' ')} UTC` : iso;
}

/** The span-level F1 of the test split (whole spans matched), and how many true spans it counted; null when not recorded. */
export function spanMetrics(model: LoadedModelInfo | null): { f1: number; spans: number | null } | null {
  const test = (model?.metrics as Record<string, unknown> | undefined)?.test as Record<string, unknown> | undefined;
  const f1 = test?.span_f1;
  if (typeof f1 !== 'number') return null;
  return { f1, spans: typeof test?.true_spans === 'number' ? test.true_spans : null };
}
