import { Workbench } from '@/components/Workbench';
import { TIMEFRAMES, PAIR_PATTERN } from '@/lib/constants';
import { listAnnotatedPartitions } from '@/lib/db/queries';
import { DEFAULT_LABELS } from '@/lib/labels';
import { predictionSettings } from '@/lib/predictions/settings';

// Reads the database on every request; nothing here is prerendered at build time.
export const dynamic = 'force-dynamic';

type SearchParams = Promise<Record<string, string | string[] | undefined>>;

/** The annotator. The server reads what it owns (annotated partitions); the client talks to /api/*. */
export default async function Page({ searchParams }: { searchParams: SearchParams }) {
  const query = await searchParams;
  const pair = typeof query.pair === 'string' && PAIR_PATTERN.test(query.pair) ? query.pair : null;
  const timeframe =
    typeof query.timeframe === 'string' && (TIMEFRAMES as readonly string[]).includes(query.timeframe) ? query.timeframe : null;

  let annotatedPartitions: Awaited<ReturnType<typeof listAnnotatedPartitions>> = [];
  let databaseError: string | null = null;
  try {
    annotatedPartitions = await listAnnotatedPartitions();
  } catch (err) {
    // The chart still works without the annotation store; the banner says what is wrong.
    console.error(err);
    databaseError = (err as Error).message;
  }

  return (
    <Workbench
      defaultLabels={DEFAULT_LABELS}
      annotatedPartitions={annotatedPartitions}
      initialSelection={pair && timeframe ? { pair, timeframe } : null}
      databaseError={databaseError}
      predictions={predictionSettings()}
    />
  );
}
