import { readJson } from '@/lib/http';
import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** POST /api/predict/batch -> the service's POST /predict/batch, with INFERENCE_BATCH_TIMEOUT. */
export async function POST(request: Request): Promise<Response> {
  const body = await readJson(request);
  if (!body.ok) return body.response;
  return forwardToInference({ method: 'POST', path: '/predict/batch', body: JSON.stringify(body.body), batch: true });
}
