/**
 * The prediction overlay's shapes: what the inference service answers (generated from its
 * OpenAPI schema into api.gen.ts: `make api-types`), what the overlay keeps in its state, and
 * the disagreements between the model and the annotators. Times are epoch seconds (UTC) of the
 * first and last candle, inclusive; confidences are 0..1.
 */
import type { components } from '../../generated/api.gen';

type Schemas = components['schemas'];

/** The model's label for one candle (POST /predict, /predict/batch). `label` is "O" for no pattern. */
export type CandlePrediction = Schemas['CandlePrediction'];

/** A span of consecutive candles with the same predicted pattern, as the service answers it. */
export type ServiceSpan = Schemas['Span'];

/** Which model answered a prediction request. */
export type PredictionModelInfo = Schemas['ModelInfo'];

/** The body of POST /predict and POST /predict/batch. */
export type PredictResponse = Schemas['PredictResponse'];

/** A predicted span as the overlay keeps it: the service's span with where and by what it was predicted. */
export interface PredictionSpan {
  /** Stable within one result: `${pair}|${timeframe}|${start_time}|${label}`. */
  id: string;
  pair: string;
  timeframe: string;
  label: string;
  start_time: number;
  end_time: number;
  /** Mean confidence of the span's candles, 0..1. */
  confidence: number;
  model_version: string;
}

/** Per-class metrics recorded at training (bundle metrics.per_class). */
export interface ClassMetrics {
  precision?: number;
  recall?: number;
  f1?: number;
  support?: number;
  [extra: string]: unknown;
}

/**
 * One loaded model of GET /model/info. The service types `metrics` as any JSON object; the
 * overlay reads its per_class part (as the bundle records it).
 */
export type LoadedModelInfo = Omit<Schemas['LoadedModelInfo'], 'metrics'> & {
  metrics: { per_class?: Record<string, ClassMetrics>; [part: string]: unknown };
};

/** GET /model/info. */
export type ModelInfoResponse = Omit<Schemas['ModelInfoResponse'], 'models'> & { models: LoadedModelInfo[] };

/** One predicted candle kept for drawing. */
export interface PredictedCandle {
  time: number;
  label: string;
  confidence: number;
}

/** The result shown on the chart: one prediction request over [start, end] of a partition. */
export interface PredictionResult {
  pair: string;
  timeframe: string;
  /** Times of the first and last candle the request covered (inclusive). */
  start: number;
  end: number;
  model_version: string;
  /** Pattern candles only (label O left out), ascending by time. */
  candles: PredictedCandle[];
  spans: PredictionSpan[];
  /** How the result was asked for. */
  kind: 'visible' | 'all';
}

/** Whether the overlay can talk to the model server. */
export type ModelServerStatus = 'unknown' | 'online' | 'offline';

/** The overlay's state: one container (a reducer), see hooks/usePredictions.tsx. */
export interface PredictionState {
  /** Predicted spans of the shown result (unfiltered). */
  spans: PredictionSpan[];
  /** The shown result, null before the first prediction. */
  result: PredictionResult | null;
  isLoading: boolean;
  /** The last prediction error, shown in the panel; never blocks annotating. */
  error: string | null;
  modelInfo: ModelInfoResponse | null;
  server: ModelServerStatus;
  /** The master toggle: bars, markers and highlights shown. */
  visible: boolean;
  /** Predictions below this confidence (0..1) are not drawn. */
  confidenceThreshold: number;
  /** Labels drawn; null means every label (also those a later model adds). */
  selectedLabels: ReadonlySet<string> | null;
  /** Predict the candles in view whenever the view changes (debounced). */
  autoPredict: boolean;
  showOnlyDisagreements: boolean;
  /** The candlestick-pattern layer (TA-Lib CDL labels) is drawn; off by default. */
  showCandlestick: boolean;
}

export type DisagreementKind = 'missed_by_model' | 'missed_by_human' | 'label_mismatch';

/** A human span, for the comparison (a SpanAnnotation has these fields). */
export interface HumanSpan {
  id: string;
  pair: string;
  timeframe: string;
  label: string;
  start_time: number;
  end_time: number;
}

/** A place where the model and the annotators disagree. */
export interface Disagreement {
  /** `${kind}:${human id or prediction id}`. */
  id: string;
  kind: DisagreementKind;
  pair: string;
  timeframe: string;
  /** The span to highlight: the prediction's (missed_by_human, label_mismatch) or the human's (missed_by_model). */
  start_time: number;
  end_time: number;
  human: HumanSpan | null;
  prediction: PredictionSpan | null;
}

/** Counts for the panel's summary. */
export interface DisagreementSummary {
  predictions: number;
  agreements: number;
  /** Predictions an annotator marked "Not a pattern" (matched by a negative annotation). */
  dismissed: number;
  missed_by_model: number;
  missed_by_human: number;
  label_mismatch: number;
}

export interface DisagreementReport {
  disagreements: Disagreement[];
  /** Ids of predictions that agree with a human span of the same label. */
  agreedPredictionIds: string[];
  /** Ids of predictions a negative annotation (label O) covers. */
  dismissedPredictionIds: string[];
  summary: DisagreementSummary;
}
