import {
  deleteSpanAnnotation,
  getSpanAnnotation,
  listSpanAnnotations,
  toApi,
  updateSpanAnnotation,
  type SpanAnnotationPatch,
} from '@/lib/db/queries';
import { syncPartitionExport } from '@/lib/export-file';
import { annotationFacts, checkSpan, duplicateError, findDuplicate } from '@/lib/annotation-rules';
import { jsonError, readJson } from '@/lib/http';
import { idSchema, NEGATIVE_LABEL, parseWith, patchSpanAnnotationSchema } from '@/lib/validation';

export const dynamic = 'force-dynamic';

interface Context {
  params: Promise<{ id: string }>;
}

async function parseId(context: Context): Promise<{ ok: true; id: string } | { ok: false; response: Response }> {
  const { id } = await context.params;
  const parsed = parseWith(idSchema, id, 'annotation id');
  if (!parsed.ok) return { ok: false, response: jsonError(400, { ...parsed.error, field: 'id' }) };
  return { ok: true, id: parsed.data };
}

const notFound = (id: string) => jsonError(404, `No span annotation has id ${id}: it may have been deleted.`);

/** GET /api/span-annotations/[id]. */
export async function GET(_request: Request, context: Context): Promise<Response> {
  const id = await parseId(context);
  if (!id.ok) return id.response;
  const row = await getSpanAnnotation(id.id);
  return row ? Response.json(toApi(row)) : notFound(id.id);
}

/** PATCH /api/span-annotations/[id]: change any of label, times, confidence, source, model_prediction, note. */
export async function PATCH(request: Request, context: Context): Promise<Response> {
  const id = await parseId(context);
  if (!id.ok) return id.response;
  const body = await readJson(request);
  if (!body.ok) return body.response;
  const parsed = parseWith(patchSpanAnnotationSchema, body.body, 'annotation change');
  if (!parsed.ok) return jsonError(400, parsed.error);
  const v = parsed.data;

  // Checks that need the stored row: the span order after a one-sided change, and the negative label's source.
  const current = await getSpanAnnotation(id.id);
  if (!current) return notFound(id.id);
  const start = v.start_time ?? current.startTime;
  const end = v.end_time ?? current.endTime;
  if (end < start) {
    const field = v.end_time !== undefined ? 'end_time' : 'start_time';
    return jsonError(400, {
      detail: `Invalid annotation change: the span would end (${end}) before it starts (${start}).`,
      field,
      errors: [{ field, message: 'end_time must be at or after start_time' }],
    });
  }
  // Strict saving (lib/annotation-rules.ts), for what the change touches.
  const timesChanged = v.start_time !== undefined || v.end_time !== undefined;
  const fields = { pair: current.pair, timeframe: current.timeframe, label: v.label ?? current.label, start_time: start, end_time: end };
  const rule = checkSpan(fields, await annotationFacts(), 'annotation change', { label: v.label !== undefined, times: timesChanged });
  if (!rule.ok) return jsonError(rule.status, rule.error);
  const snapped = { ...fields, start_time: rule.start_time, end_time: rule.end_time };
  const duplicate = findDuplicate(snapped, (await listSpanAnnotations({ pair: current.pair, timeframe: current.timeframe })).map(toApi), id.id);
  if (duplicate) return Response.json(duplicateError(duplicate.id), { status: 409 });
  const patch: SpanAnnotationPatch = {
    label: v.label,
    startTime: timesChanged ? snapped.start_time : undefined,
    endTime: timesChanged ? snapped.end_time : undefined,
    confidence: v.confidence,
    source: v.source,
    modelPrediction: v.model_prediction,
    note: v.note,
  };
  const label = v.label ?? current.label;
  if (label === NEGATIVE_LABEL) {
    if (v.source !== undefined && v.source !== 'human_correction') {
      return jsonError(400, {
        detail: `Invalid annotation change: source must be human_correction for a negative annotation (label ${NEGATIVE_LABEL}).`,
        field: 'source',
      });
    }
    // Relabelling a span as "not a pattern" makes it a correction.
    patch.source = 'human_correction';
  }
  for (const key of Object.keys(patch) as (keyof SpanAnnotationPatch)[]) if (patch[key] === undefined) delete patch[key];
  const row = await updateSpanAnnotation(id.id, patch);
  if (!row) return notFound(id.id);
  await syncPartitionExport(row.pair, row.timeframe);
  return Response.json(toApi(row));
}

/** DELETE /api/span-annotations/[id]: 204. */
export async function DELETE(_request: Request, context: Context): Promise<Response> {
  const id = await parseId(context);
  if (!id.ok) return id.response;
  const current = await getSpanAnnotation(id.id);
  if (!current || !(await deleteSpanAnnotation(id.id))) return notFound(id.id);
  await syncPartitionExport(current.pair, current.timeframe);
  return new Response(null, { status: 204 });
}
