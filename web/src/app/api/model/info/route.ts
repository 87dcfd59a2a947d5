import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** GET /api/model/info -> the service's GET /model/info: the loaded models, their versions and per-class metrics. */
export async function GET(): Promise<Response> {
  return forwardToInference({ method: 'GET', path: '/model/info' });
}
