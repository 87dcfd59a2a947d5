import { jsonError } from '@/lib/http';
import { forwardToInference } from '@/lib/inference';
import { candlesQuerySchema, parseWith, queryObject } from '@/lib/validation';

export const dynamic = 'force-dynamic';

/**
 * GET /api/candles?pair&timeframe&start&end&limit -> the service's GET /candles: stored candles,
 * [{time, open, high, low, close, volume}] with time in epoch seconds. With `end` and no
 * `start`, `limit` takes the last candles before `end` (history paging).
 */
export async function GET(request: Request): Promise<Response> {
  const parsed = parseWith(candlesQuerySchema, queryObject(new URL(request.url).searchParams), 'query');
  if (!parsed.ok) return jsonError(400, parsed.error);
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(parsed.data)) if (value !== undefined) query.set(key, String(value));
  return forwardToInference({ method: 'GET', path: '/candles', query });
}
