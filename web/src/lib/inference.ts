/**
 * The proxy to the Python inference service (serving/). The browser only ever talks to
 * /api/*; these helpers forward to ${INFERENCE_API_URL}, add the service token server-side,
 * and turn the two ways a call can fail without an answer into JSON a person understands:
 * no answer in time (504) and no connection (502). Any answer the service gives, error or
 * not, is passed through with its status and body.
 */

/** An environment to read settings from (process.env, or a plain object in tests). */
type Env = Record<string, string | undefined>;

export const DEFAULT_INFERENCE_API_URL = 'http://127.0.0.1:8000';
export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_BATCH_TIMEOUT_MS = 120_000;

export interface InferenceSettings {
  baseUrl: string;
  timeoutMs: number;
  batchTimeoutMs: number;
  token: string | undefined;
}

export class InferenceConfigError extends Error {}

function positiveMs(env: Env, name: string, fallback: number): number {
  const raw = env[name]?.trim();
  if (!raw) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value <= 0) {
    throw new InferenceConfigError(`${name} must be a positive number of milliseconds, got ${JSON.stringify(raw)}.`);
  }
  return value;
}

/** Read per request, so a changed environment (and tests) take effect without a rebuild. */
export function inferenceSettings(env: Env = process.env): InferenceSettings {
  const baseUrl = (env.INFERENCE_API_URL?.trim() || DEFAULT_INFERENCE_API_URL).replace(/\/+$/, '');
  try {
    new URL(baseUrl);
  } catch {
    throw new InferenceConfigError(`INFERENCE_API_URL is not a URL: ${JSON.stringify(baseUrl)}.`);
  }
  return {
    baseUrl,
    timeoutMs: positiveMs(env, 'INFERENCE_API_TIMEOUT', DEFAULT_TIMEOUT_MS),
    batchTimeoutMs: positiveMs(env, 'INFERENCE_BATCH_TIMEOUT', DEFAULT_BATCH_TIMEOUT_MS),
    token: env.INFERENCE_API_TOKEN?.trim() || undefined,
  };
}

export interface ForwardOptions {
  method: 'GET' | 'POST';
  /** Service path, e.g. "/candles". */
  path: string;
  query?: URLSearchParams;
  /** A JSON body, sent as is. */
  body?: string;
  /** Use INFERENCE_BATCH_TIMEOUT instead of INFERENCE_API_TIMEOUT. */
  batch?: boolean;
}

const PASSED_HEADERS = ['content-type', 'cache-control', 'retry-after'];

/** Forward one request to the service and answer with its response, or with a 502/504 JSON error. */
export async function forwardToInference(options: ForwardOptions, env: Env = process.env): Promise<Response> {
  let settings: InferenceSettings;
  try {
    settings = inferenceSettings(env);
  } catch (err) {
    if (err instanceof InferenceConfigError) return Response.json({ detail: err.message }, { status: 500 });
    throw err;
  }
  const query = options.query && [...options.query.keys()].length ? `?${options.query}` : '';
  const url = `${settings.baseUrl}${options.path}${query}`;
  const timeoutMs = options.batch ? settings.batchTimeoutMs : settings.timeoutMs;
  const what = `${options.method} ${options.path}`;

  const headers: Record<string, string> = { accept: 'application/json' };
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  if (settings.token) headers.authorization = `Bearer ${settings.token}`;

  try {
    const upstream = await fetch(url, {
      method: options.method,
      headers,
      body: options.body,
      signal: AbortSignal.timeout(timeoutMs),
      cache: 'no-store',
      redirect: 'manual',
    });
    // Read the whole body under the same deadline: a service that stalls mid-answer is a timeout too.
    const body = await upstream.arrayBuffer();
    const passed = new Headers();
    for (const name of PASSED_HEADERS) {
      const value = upstream.headers.get(name);
      if (value) passed.set(name, value);
    }
    return new Response(upstream.status === 204 || upstream.status === 304 ? null : body, {
      status: upstream.status,
      headers: passed,
    });
  } catch (err) {
    return failureResponse(err, { what, baseUrl: settings.baseUrl, timeoutMs, batch: Boolean(options.batch) });
  }
}

interface FailureContext {
  what: string;
  baseUrl: string;
  timeoutMs: number;
  batch: boolean;
}

/** 504 for a timeout, 502 for a connection that failed; anything else is a bug and is rethrown. */
export function failureResponse(err: unknown, ctx: FailureContext): Response {
  const name = (err as { name?: string } | null)?.name;
  if (name === 'TimeoutError') {
    const knob = ctx.batch ? 'INFERENCE_BATCH_TIMEOUT' : 'INFERENCE_API_TIMEOUT';
    return Response.json(
      {
        detail:
          `The inference service at ${ctx.baseUrl} did not answer ${ctx.what} within ${ctx.timeoutMs} ms. ` +
          `It may be busy or stuck: try again, or raise ${knob}.`,
        reason: 'timeout',
      },
      { status: 504 },
    );
  }
  const code = connectionErrorCode(err);
  if (code !== null) {
    const hint =
      code === 'ECONNREFUSED'
        ? 'Nothing is listening there: start it (python -m serving) or point INFERENCE_API_URL at it.'
        : 'Check that it is running and that INFERENCE_API_URL is right.';
    return Response.json(
      {
        detail: `Cannot reach the inference service at ${ctx.baseUrl} for ${ctx.what} (${code || 'connection failed'}). ${hint}`,
        reason: code === 'ECONNREFUSED' ? 'refused' : 'unreachable',
      },
      { status: 502 },
    );
  }
  throw err;
}

/**
 * Node's fetch rejects with TypeError("fetch failed") whose cause carries the socket error
 * (ECONNREFUSED, ENOTFOUND, ECONNRESET, UND_ERR_SOCKET...). Returns that code, "" for a
 * fetch failure without one, or null when `err` is not a failed connection.
 */
function connectionErrorCode(err: unknown): string | null {
  if (!(err instanceof TypeError)) return null;
  let cause: unknown = err.cause;
  for (let depth = 0; cause && depth < 4; depth++) {
    const c = cause as { code?: unknown; errors?: unknown[]; cause?: unknown };
    if (typeof c.code === 'string') return c.code;
    // AggregateError (IPv4 and IPv6 both refused) holds the per-address errors.
    if (Array.isArray(c.errors) && c.errors.length) cause = c.errors[0];
    else cause = c.cause;
  }
  return err.message === 'fetch failed' ? '' : null;
}
