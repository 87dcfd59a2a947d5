import { readJson } from '@/lib/http';
import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** POST /api/predict -> the service's POST /predict (it validates the candles; its errors pass through). */
export async function POST(request: Request): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return body.response;
  return forwardToInference({ method: 'POST', path: '/predict', body: JSON.stringify(body.body) });
}
