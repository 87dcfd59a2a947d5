import { jsonError } from '@/lib/http';
import { forwardToInference } from '@/lib/inference';
import { reviewQueueQuerySchema } from '@/lib/review-queue-validation';
import { parseWith, queryObject } from '@/lib/validation';

export const dynamic = 'force-dynamic';

/**
 * GET /api/review-queue?pair&timeframe&limit -> the service's GET /review-queue (the built queue,
 * best first). The service's own answers (404 unknown partition, 409 not built) pass through; when
 * it cannot be reached (the proxy's 502/504) this answers 503 saying so: the panel keeps the queue
 * it already loaded, and answers are still saved (they go to the web's database only).
 */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseWith(reviewQueueQuerySchema, queryObject(new URL(request.url).searchParams), 'query');
  if (!parsed.ok) return jsonError(400, parsed.error);
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(parsed.data)) if (value !== undefined) query.set(key, String(value));
  const response = await forwardToInference({ method: 'GET', path: '/review-queue', query });
  if (response.status !== 502 && response.status !== 504) return response;
  const cause = ((await response.json().catch(() => null)) as { detail?: string } | null)?.detail ?? '';
  return Response.json(
    {
      detail:
        'The review queue cannot be loaded: the inference service is not reachable. ' +
        'A queue already loaded stays usable and answers are still saved. ' +
        cause,
      reason: 'service_unavailable',
    },
    { status: 503 },
  );
}
