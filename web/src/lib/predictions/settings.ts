/**
 * The prediction overlay's settings, read by the server page on every request and handed to
 * the browser as props: changing them needs a restart of `next start`, not a rebuild.
 *
 * - NEXT_PUBLIC_PREDICTIONS_ENABLED: `false` (or 0, no, off) hides the whole feature; default on.
 * - NEXT_PUBLIC_MODEL_POLL_MS: how often GET /api/model/info is polled (also the reconnect
 *   interval while the model server is unreachable); default 30000.
 *
 * The names keep the NEXT_PUBLIC_ prefix the deployment documents, but they are read through a
 * plain object (never `process.env.NEXT_PUBLIC_…` literally), so Next does not freeze them into
 * the build.
 */
type Env = Record<string, string | undefined>;

export interface PredictionSettings {
  enabled: boolean;
  pollMs: number;
}

export const DEFAULT_POLL_MS = 30_000;
const OFF = new Set(['false', '0', 'no', 'off']);

export function predictionSettings(env: Env = process.env): PredictionSettings {
  const enabledRaw = env['NEXT_PUBLIC_PREDICTIONS_ENABLED']?.trim().toLowerCase();
  const pollRaw = env['NEXT_PUBLIC_MODEL_POLL_MS']?.trim();
  let pollMs = DEFAULT_POLL_MS;
  if (pollRaw) {
    const value = Number(pollRaw);
    if (Number.isInteger(value) && value >= 100) pollMs = value;
    else console.warn(`NEXT_PUBLIC_MODEL_POLL_MS must be whole milliseconds (at least 100), got ${JSON.stringify(pollRaw)}: using ${DEFAULT_POLL_MS}.`);
  }
  return { enabled: !(enabledRaw && OFF.has(enabledRaw)), pollMs };
}
