import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** GET /api/health -> the service's GET /health: 200 when the service can predict, 503 when it cannot. */
export async function GET(): Promise<Response> {
  return forwardToInference({ method: 'GET', path: '/health' });
}
