/** The browser's calls to /api/*: JSON in, JSON out, errors as ApiRequestError with the server's message. */
import type { ApiError } from '@/types';

export class ApiRequestError extends Error {
  constructor(
    readonly status: number,
    readonly body: ApiError,
  ) {
    super(body.detail);
  }

  /** The inference service could not be reached or did not answer in time (the proxy's 502/504). */
  get serviceUnreachable(): boolean {
    return this.status === 502 || this.status === 504 || this.status === 0;
  }
}

export async function apiFetch<T>(url: string, init?: RequestInit): Promise<T> {
  let res: Response;
  try {
    res = await fetch(url, {
      ...init,
      headers: init?.body ? { 'content-type': 'application/json', ...init.headers } : init?.headers,
      cache: 'no-store',
    });
  } catch {
    throw new ApiRequestError(0, { detail: 'The web server did not answer: is `npm run dev` or `npm start` still running?' });
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let body: unknown = null;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    body = null;
  }
  if (!res.ok) {
    const detail = errorDetail(body) ?? `${url.split('?')[0]} answered ${res.status} ${res.statusText}`.trim();
    throw new ApiRequestError(res.status, { ...(typeof body === 'object' && body ? (body as ApiError) : {}), detail });
  }
  return body as T;
}

/** A message out of an error body: {"detail": "..."} (Litestar, this app), {"message"} or {"error"}. */
function errorDetail(body: unknown): string | null {
  if (!body || typeof body !== 'object') return null;
  const b = body as Record<string, unknown>;
  for (const key of ['detail', 'message', 'error']) if (typeof b[key] === 'string' && b[key]) return b[key] as string;
  return null;
}
