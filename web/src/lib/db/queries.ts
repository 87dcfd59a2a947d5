/** Every database read and write of span annotations. Route handlers and pages call these. */
import { and, asc, count, eq, type SQL } from 'drizzle-orm';
import type { SpanAnnotation } from '@/types';
import { getDb } from './client';
import { spanAnnotations, type NewSpanAnnotationRow, type SpanAnnotationRow } from './schema';

export interface PartitionFilter {
  pair?: string;
  timeframe?: string;
}

export type SpanAnnotationInput = Omit<NewSpanAnnotationRow, 'id' | 'createdAt' | 'updatedAt'>;
export type SpanAnnotationPatch = Partial<
  Pick<NewSpanAnnotationRow, 'label' | 'startTime' | 'endTime' | 'confidence' | 'source' | 'modelPrediction' | 'note'>
>;

function partitionWhere(filter: PartitionFilter): SQL | undefined {
  const parts: SQL[] = [];
  if (filter.pair) parts.push(eq(spanAnnotations.pair, filter.pair));
  if (filter.timeframe) parts.push(eq(spanAnnotations.timeframe, filter.timeframe));
  return parts.length ? and(...parts) : undefined;
}

/** Annotations of one partition (or all), ordered by pair, timeframe and start time. */
export async function listSpanAnnotations(filter: PartitionFilter = {}): Promise<SpanAnnotationRow[]> {
  const db = await getDb();
  return db
    .select()
    .from(spanAnnotations)
    .where(partitionWhere(filter))
    .orderBy(asc(spanAnnotations.pair), asc(spanAnnotations.timeframe), asc(spanAnnotations.startTime), asc(spanAnnotations.createdAt));
}

export async function getSpanAnnotation(id: string): Promise<SpanAnnotationRow | null> {
  const db = await getDb();
  const [row] = await db.select().from(spanAnnotations).where(eq(spanAnnotations.id, id));
  return row ?? null;
}

export async function createSpanAnnotation(input: SpanAnnotationInput): Promise<SpanAnnotationRow> {
  const db = await getDb();
  const [row] = await db.insert(spanAnnotations).values(input).returning();
  return row;
}

/** Apply `patch`; null when no annotation has this id. */
export async function updateSpanAnnotation(id: string, patch: SpanAnnotationPatch): Promise<SpanAnnotationRow | null> {
  const db = await getDb();
  const [row] = await db
    .update(spanAnnotations)
    .set({ ...patch, updatedAt: new Date() })
    .where(eq(spanAnnotations.id, id))
    .returning();
  return row ?? null;
}

/** True when an annotation was deleted. */
export async function deleteSpanAnnotation(id: string): Promise<boolean> {
  const db = await getDb();
  const rows = await db.delete(spanAnnotations).where(eq(spanAnnotations.id, id)).returning({ id: spanAnnotations.id });
  return rows.length > 0;
}

/** The pairs and timeframes that have annotations: the selector's fallback when the service is down. */
export async function listAnnotatedPartitions(): Promise<{ pair: string; timeframe: string; annotations: number }[]> {
  const db = await getDb();
  return db
    .select({ pair: spanAnnotations.pair, timeframe: spanAnnotations.timeframe, annotations: count() })
    .from(spanAnnotations)
    .groupBy(spanAnnotations.pair, spanAnnotations.timeframe)
    .orderBy(asc(spanAnnotations.pair), asc(spanAnnotations.timeframe));
}

/** ISO-8601 in UTC to the second, as in docs/DESIGN.md ("2026-11-20T09:00:00Z"). */
export function isoSeconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** A row as the API returns it (snake_case, times as epoch seconds). */
export function toApi(row: SpanAnnotationRow): SpanAnnotation {
  return {
    id: row.id,
    pair: row.pair,
    timeframe: row.timeframe,
    label: row.label,
    start_time: row.startTime,
    end_time: row.endTime,
    confidence: row.confidence,
    source: row.source,
    model_prediction: row.modelPrediction ?? null,
    note: row.note,
    created_at: isoSeconds(row.createdAt),
    updated_at: isoSeconds(row.updatedAt),
  };
}
