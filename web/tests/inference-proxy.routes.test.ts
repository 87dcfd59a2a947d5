/**
 * The proxy routes against a stub HTTP server started here: pass-through of status and body,
 * the server-side token, 504 on timeout (INFERENCE_API_TIMEOUT / INFERENCE_BATCH_TIMEOUT) and
 * 502 on a refused connection.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { GET as CANDLES } from '@/app/api/candles/route';
import { GET as HEALTH } from '@/app/api/health/route';
import { GET as MODEL_INFO } from '@/app/api/model/info/route';
import { GET as LABELS } from '@/app/api/model/labels/route';
import { GET as PARTITIONS } from '@/app/api/partitions/route';
import { POST as PREDICT_BATCH } from '@/app/api/predict/batch/route';
import { POST as PREDICT } from '@/app/api/predict/route';
import { jsonRequest } from './helpers/routes';

interface Seen {
  method: string;
  url: string;
  authorization?: string;
  body: string;
}

let server: http.Server;
let stubUrl: string;
const seen: Seen[] = [];
const ENV_KEYS = ['INFERENCE_API_URL', 'INFERENCE_API_TIMEOUT', 'INFERENCE_BATCH_TIMEOUT', 'INFERENCE_API_TOKEN'] as const;
const savedEnv = Object.fromEntries(ENV_KEYS.map((k) => [k, process.env[k]]));

function send(res: http.ServerResponse, status: number, body: unknown) {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      seen.push({ method: req.method!, url: req.url!, authorization: req.headers.authorization, body });
      const url = new URL(req.url!, 'http://stub');
      switch (url.pathname) {
        case '/partitions':
          return send(res, 200, [{ pair: 'EURUSD', timeframe: '1h', candles: 3, first_time: 0, last_time: 7200, has_model: false }]);
        case '/candles':
          return send(res, 200, { echo: Object.fromEntries(url.searchParams) });
        case '/model/labels':
          return send(res, 503, { detail: 'No model is loaded yet: run make demo.' });
        case '/model/info':
          return setTimeout(() => send(res, 200, { models: [] }), 1500);
        case '/health':
          // Headers now, the body never: a service stuck mid-answer.
          res.writeHead(200, { 'content-type': 'application/json' });
          res.write('{"status":');
          return;
        case '/predict':
          return send(res, 422, { detail: 'need 60 candles, got 3', echo: JSON.parse(body) });
        case '/predict/batch':
          return setTimeout(() => send(res, 200, { predictions: [], spans: [], model_info: {} }), 400);
        default:
          return send(res, 404, { detail: 'no such route' });
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  stubUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

afterEach(() => {
  seen.length = 0;
  for (const k of ENV_KEYS) {
    if (savedEnv[k] === undefined) delete process.env[k];
    else process.env[k] = savedEnv[k];
  }
});

function useStub(env: Partial<Record<(typeof ENV_KEYS)[number], string>> = {}) {
  process.env.INFERENCE_API_URL = stubUrl;
  delete process.env.INFERENCE_API_TOKEN;
  delete process.env.INFERENCE_API_TIMEOUT;
  delete process.env.INFERENCE_BATCH_TIMEOUT;
  Object.assign(process.env, env);
}

/** A port nothing listens on: bind one, then close it. */
async function closedPort(): Promise<number> {
  const s = http.createServer();
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
  const { port } = s.address() as AddressInfo;
  await new Promise((resolve) => s.close(resolve));
  return port;
}

describe('inference proxy routes', () => {
  it('passes status and body through', async () => {
    useStub();
    const res = await PARTITIONS();
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual([{ pair: 'EURUSD', timeframe: '1h', candles: 3, first_time: 0, last_time: 7200, has_model: false }]);

    const labels = await LABELS();
    expect(labels.status).toBe(503);
    expect(await labels.json()).toEqual({ detail: 'No model is loaded yet: run make demo.' });

    const predict = await PREDICT(jsonRequest('POST', '/api/predict', { pair: 'EURUSD', timeframe: '1h', candles: [] }));
    expect(predict.status).toBe(422);
    expect((await predict.json()).echo).toEqual({ pair: 'EURUSD', timeframe: '1h', candles: [] });
    expect(seen.at(-1)).toMatchObject({ method: 'POST', url: '/predict' });
  });

  it('validates the candles query and forwards only its fields', async () => {
    useStub();
    const res = await CANDLES(jsonRequest('GET', '/api/candles?pair=BTC-USDT&timeframe=4h&end=1700000000&limit=100&x=1'));
    expect(await res.json()).toEqual({ echo: { pair: 'BTC-USDT', timeframe: '4h', end: '1700000000', limit: '100' } });
    const bad = await CANDLES(jsonRequest('GET', '/api/candles?pair=BTC-USDT&timeframe=4h&start=yesterday'));
    expect(bad.status).toBe(400);
    expect((await bad.json()).field).toBe('start');
    expect(seen).toHaveLength(1);
  });

  it('adds the token server-side and never returns it', async () => {
    useStub({ INFERENCE_API_TOKEN: 's3cret-token' });
    const res = await PARTITIONS();
    expect(seen.at(-1)!.authorization).toBe('Bearer s3cret-token');
    const text = await res.text();
    expect(text).not.toContain('s3cret');
    expect([...res.headers.values()].join(' ')).not.toContain('s3cret');
    useStub();
    await PARTITIONS();
    expect(seen.at(-1)!.authorization).toBeUndefined();
  });

  it('answers 504 with a message when the service is too slow', async () => {
    useStub({ INFERENCE_API_TIMEOUT: '200' });
    const started = Date.now();
    const res = await MODEL_INFO();
    expect(Date.now() - started).toBeLessThan(1400);
    expect(res.status).toBe(504);
    const body = await res.json();
    expect(body.detail).toContain('did not answer GET /model/info within 200 ms');
    expect(body.detail).toContain('INFERENCE_API_TIMEOUT');
  });

  it('answers 504 when the service stalls mid-body', async () => {
    useStub({ INFERENCE_API_TIMEOUT: '200' });
    const res = await HEALTH();
    expect(res.status).toBe(504);
  });

  it('gives the batch route its own timeout', async () => {
    useStub({ INFERENCE_API_TIMEOUT: '100', INFERENCE_BATCH_TIMEOUT: '3000' });
    const ok = await PREDICT_BATCH(jsonRequest('POST', '/api/predict/batch', { pair: 'EURUSD', timeframe: '1h', start: 0, end: 1 }));
    expect(ok.status).toBe(200);
    useStub({ INFERENCE_API_TIMEOUT: '3000', INFERENCE_BATCH_TIMEOUT: '100' });
    const slow = await PREDICT_BATCH(jsonRequest('POST', '/api/predict/batch', { pair: 'EURUSD', timeframe: '1h', start: 0, end: 1 }));
    expect(slow.status).toBe(504);
    expect((await slow.json()).detail).toContain('INFERENCE_BATCH_TIMEOUT');
  });

  it('answers 502 with a message when the connection is refused', async () => {
    const port = await closedPort();
    process.env.INFERENCE_API_URL = `http://127.0.0.1:${port}`;
    const res = await CANDLES(jsonRequest('GET', '/api/candles?pair=EURUSD&timeframe=1h'));
    expect(res.status).toBe(502);
    const body = await res.json();
    expect(body.reason).toBe('refused');
    expect(body.detail).toContain(`Cannot reach the inference service at http://127.0.0.1:${port}`);
    expect(body.detail).toContain('ECONNREFUSED');
  });

  it('answers 400 before forwarding a body that is not JSON', async () => {
    useStub();
    const res = await PREDICT(jsonRequest('POST', '/api/predict', 'candles please'));
    expect(res.status).toBe(400);
    expect(seen).toHaveLength(0);
  });

  it('answers 500 naming a bad timeout setting', async () => {
    useStub({ INFERENCE_API_TIMEOUT: 'ten seconds' });
    const res = await PARTITIONS();
    expect(res.status).toBe(500);
    expect((await res.json()).detail).toContain('INFERENCE_API_TIMEOUT must be a positive number');
  });
});
