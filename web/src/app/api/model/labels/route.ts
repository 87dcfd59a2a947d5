import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** GET /api/model/labels -> the service's GET /model/labels: the model's labels and colours. */
export async function GET(): Promise<Response> {
  return forwardToInference({ method: 'GET', path: '/model/labels' });
}
