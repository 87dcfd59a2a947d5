import { forwardToInference } from '@/lib/inference';

export const dynamic = 'force-dynamic';

/** GET /api/partitions -> the service's GET /partitions: the pairs and timeframes with stored candles. */
export async function GET(): Promise<Response> {
  return forwardToInference({ method: 'GET', path: '/partitions' });
}
