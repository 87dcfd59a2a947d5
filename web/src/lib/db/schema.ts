import { sql } from 'drizzle-orm';
import { bigint, check, doublePrecision, index, jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import type { ModelPrediction } from '@/types';

export const ANNOTATION_SOURCES = ['human', 'human_correction', 'model'] as const;

/**
 * Span annotations: one row per labelled span of candles. start_time and end_time are the epoch
 * seconds (UTC) of the first and last candle of the span, both inclusive, as in the export.
 */
export const spanAnnotations = pgTable(
  'span_annotations',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    pair: text('pair').notNull(),
    timeframe: text('timeframe').notNull(),
    label: text('label').notNull(),
    startTime: bigint('start_time', { mode: 'number' }).notNull(),
    endTime: bigint('end_time', { mode: 'number' }).notNull(),
    confidence: doublePrecision('confidence').notNull().default(1),
    source: text('source', { enum: ANNOTATION_SOURCES }).notNull().default('human'),
    modelPrediction: jsonb('model_prediction').$type<ModelPrediction>(),
    note: text('note').notNull().default(''),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('span_annotations_partition_start_idx').on(t.pair, t.timeframe, t.startTime),
    check('span_annotations_span_order', sql`${t.startTime} <= ${t.endTime}`),
    check('span_annotations_confidence_range', sql`${t.confidence} >= 0 and ${t.confidence} <= 1`),
    check('span_annotations_source_values', sql`${t.source} in ('human', 'human_correction', 'model')`),
  ],
);

export type SpanAnnotationRow = typeof spanAnnotations.$inferSelect;
export type NewSpanAnnotationRow = typeof spanAnnotations.$inferInsert;
