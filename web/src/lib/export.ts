/** The annotation export file the pipeline reads (docs/DESIGN.md, "Annotations"). */
import type { AnnotationExport, ExportedAnnotation } from '@/types';
import { isoSeconds, toApi } from './db/queries';
import type { SpanAnnotationRow } from './db/schema';

export const EXPORT_VERSION = 1;

/** Rows to the export document, keys in docs/DESIGN.md's order; times are epoch seconds, inclusive. */
export function toExportDocument(rows: SpanAnnotationRow[], now: Date = new Date()): AnnotationExport {
  const annotations: ExportedAnnotation[] = rows.map((row) => {
    const a = toApi(row);
    return {
      id: a.id,
      pair: a.pair,
      timeframe: a.timeframe,
      label: a.label,
      start_time: a.start_time,
      end_time: a.end_time,
      confidence: a.confidence,
      source: a.source,
      model_prediction: a.model_prediction,
      note: a.note,
      created_at: a.created_at,
    };
  });
  return { version: EXPORT_VERSION, exported_at: isoSeconds(now), annotations };
}

/** The download name: annotations_EURUSD_1h.json, annotations_all.json. */
export function exportFileName(filter: { pair?: string; timeframe?: string }): string {
  const parts = [filter.pair, filter.timeframe].filter(Boolean);
  return `annotations_${parts.length ? parts.join('_') : 'all'}.json`;
}
