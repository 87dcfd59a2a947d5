import { createSpanAnnotation, listSpanAnnotations, toApi } from '@/lib/db/queries';
import { syncPartitionExport } from '@/lib/export-file';
import { annotationFacts, checkSpan, duplicateError, findDuplicate } from '@/lib/annotation-rules';
import { jsonError, readJson } from '@/lib/http';
import { createSpanAnnotationSchema, parseWith, partitionFilterSchema, queryObject } from '@/lib/validation';

export const dynamic = 'force-dynamic';

/** GET /api/span-annotations?pair&timeframe: the annotations of a partition (both filters optional). */
export async function GET(request: Request): Promise<Response> {
  const query = parseWith(partitionFilterSchema, queryObject(new URL(request.url).searchParams), 'query');
  if (!query.ok) return jsonError(400, query.error);
  const rows = await listSpanAnnotations(query.data);
  return Response.json(rows.map(toApi));
}

/** POST /api/span-annotations: save a span; 201 with the saved annotation. */
export async function POST(request: Request): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return body.response;
  const input = parseWith(createSpanAnnotationSchema, body.body, 'annotation');
  if (!input.ok) return jsonError(400, input.error);
  // Strict saving (lib/annotation-rules.ts): known label and partition, times on the candles, no duplicate.
  const rule = checkSpan(input.data, await annotationFacts());
  if (!rule.ok) return jsonError(rule.status, rule.error);
  const v = { ...input.data, start_time: rule.start_time, end_time: rule.end_time };
  const duplicate = findDuplicate(v, (await listSpanAnnotations({ pair: v.pair, timeframe: v.timeframe })).map(toApi));
  if (duplicate) return Response.json(duplicateError(duplicate.id), { status: 409 });
  const row = await createSpanAnnotation({
    pair: v.pair,
    timeframe: v.timeframe,
    label: v.label,
    startTime: v.start_time,
    endTime: v.end_time,
    confidence: v.confidence,
    source: v.source,
    modelPrediction: v.model_prediction,
    note: v.note,
  });
  // The partition's export file (ANNOTATIONS_EXPORT_DIR) is rewritten before the response: the pipeline sees it.
  await syncPartitionExport(row.pair, row.timeframe);
  return Response.json(toApi(row), { status: 201 });
}
