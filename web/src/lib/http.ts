/** Small helpers for route handlers: JSON answers and request bodies. */
import type { ApiError } from '@/types';

export function jsonError(status: number, error: ApiError | string): Response {
  return Response.json(typeof error === 'string' ? { detail: error } : error, { status });
}

/** The request's JSON body, or a 400 answer saying why it is not one. */
export async function readJson(request: Request): Promise<{ ok: true; body: unknown } | { ok: false; response: Response }> {
  const text = await request.text();
  if (!text.trim()) return { ok: false, response: jsonError(400, { detail: 'The request body is empty: send a JSON object.', field: '(body)' }) };
  try {
    return { ok: true, body: JSON.parse(text) };
  } catch (err) {
    return {
      ok: false,
      response: jsonError(400, { detail: `The request body is not valid JSON: ${(err as Error).message}`, field: '(body)' }),
    };
  }
}
