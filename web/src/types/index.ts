/**
 * Shapes shared by the browser and the server. Field names follow docs/DESIGN.md (snake_case JSON);
 * times are epoch seconds, UTC.
 */

import type { components } from '../../generated/api.gen';

/** One stored candle as the inference service's GET /candles returns it (generated: api.gen.ts). */
export type Candle = components['schemas']['Candle'];

/** One entry of the service's GET /partitions (generated: api.gen.ts). */
export type Partition = components['schemas']['PartitionInfo'];

/** A pattern label and its colour (configured defaults, merged with GET /model/labels). */
export interface LabelDef {
  name: string;
  color: string;
}

export type AnnotationSource = 'human' | 'human_correction' | 'model';

/** What the model said about a span a human corrected (DESIGN: negative annotations). */
export interface ModelPrediction {
  label: string;
  confidence: number;
  model_version: string;
  [extra: string]: unknown;
}

/** A span annotation as /api/span-annotations returns it. */
export interface SpanAnnotation {
  id: string;
  pair: string;
  timeframe: string;
  label: string;
  /** Time of the first candle of the span, inclusive. */
  start_time: number;
  /** Time of the last candle of the span, inclusive. */
  end_time: number;
  confidence: number;
  source: AnnotationSource;
  model_prediction: ModelPrediction | null;
  note: string;
  created_at: string;
  updated_at: string;
}

/** One annotation of the export file the pipeline reads (docs/DESIGN.md, "Annotations"). */
export type ExportedAnnotation = Omit<SpanAnnotation, 'updated_at'>;

export interface AnnotationExport {
  version: 1;
  exported_at: string;
  annotations: ExportedAnnotation[];
}

/** The JSON error body of every /api route: a message a person can act on. */
export interface ApiError {
  detail: string;
  /** The request field at fault, for validation errors. */
  field?: string;
  errors?: { field: string; message: string }[];
}
