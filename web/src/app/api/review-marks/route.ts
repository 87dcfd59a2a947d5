import { createReviewMark, deleteReviewMark, listReviewMarks } from '@/lib/db/reviewed';
import { jsonError, readJson } from '@/lib/http';
import { reviewMarkIdSchema, reviewMarkSchema, reviewMarksQuerySchema } from '@/lib/review-queue-validation';
import { parseWith, queryObject } from '@/lib/validation';

export const dynamic = 'force-dynamic';

/** GET /api/review-marks?pair&timeframe: the review marks of a partition (web database, never the service). */
export async function GET(request: Request): Promise<Response> {
  const query = parseWith(reviewMarksQuerySchema, queryObject(new URL(request.url).searchParams), 'query');
  if (!query.ok) return jsonError(400, query.error);
  return Response.json(await listReviewMarks(query.data.pair, query.data.timeframe));
}

/** POST /api/review-marks: mark a stretch reviewed; 201 with the mark. */
export async function POST(request: Request): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return body.response;
  const input = parseWith(reviewMarkSchema, body.body, 'review mark');
  if (!input.ok) return jsonError(400, input.error);
  return Response.json(await createReviewMark(input.data), { status: 201 });
}

/** DELETE /api/review-marks?id: undo a mark; 204, or 404 when there is no such mark. */
export async function DELETE(request: Request): Promise<Response> {
  const query = parseWith(reviewMarkIdSchema, queryObject(new URL(request.url).searchParams), 'query');
  if (!query.ok) return jsonError(400, query.error);
  if (!(await deleteReviewMark(query.data.id))) return jsonError(404, `No review mark ${query.data.id}: it was already undone.`);
  return new Response(null, { status: 204 });
}
