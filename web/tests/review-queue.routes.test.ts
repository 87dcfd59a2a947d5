/**
 * /api/review-queue (the proxy: pass-through, the service down -> 503, bad queries -> 400) and
 * /api/review-marks (the web database's review_marks table, on PGlite and on PostgreSQL).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { DELETE, GET as MARKS, POST } from '@/app/api/review-marks/route';
import { GET as QUEUE } from '@/app/api/review-queue/route';
import type { ReviewMark } from '@/lib/review-queue';
import { installTestDb, TEST_DRIVERS, type TestDb } from './helpers/db';
import { jsonRequest } from './helpers/routes';

const savedUrl = process.env.INFERENCE_API_URL;
afterEach(() => {
  if (savedUrl === undefined) delete process.env.INFERENCE_API_URL;
  else process.env.INFERENCE_API_URL = savedUrl;
});

describe('GET /api/review-queue', () => {
  let server: http.Server;
  const seen: string[] = [];
  beforeAll(async () => {
    // Answers as the service does (serving/controllers/review.py): the built queue, or 409 when not built.
    server = http.createServer((req, res) => {
      seen.push(req.url!);
      const url = new URL(req.url!, 'http://stub');
      const built = url.searchParams.get('pair') === 'EURUSD';
      res.writeHead(built ? 200 : 409, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify(
          built
            ? { pair: 'EURUSD', timeframe: '1h', model_version: 'v1', total: 1, items: [{ rank: 1 }] }
            : { status_code: 409, error: 'review_queue_not_built', detail: 'no review queue built for GBPUSD 1h yet' },
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const stub = () => `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  it('forwards pair, timeframe and limit and passes the answer through', async () => {
    process.env.INFERENCE_API_URL = stub();
    const res = await QUEUE(jsonRequest('GET', '/api/review-queue?pair=EURUSD&timeframe=1h&limit=20'));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ pair: 'EURUSD', model_version: 'v1', items: [{ rank: 1 }] });
    expect(seen.at(-1)).toBe('/review-queue?pair=EURUSD&timeframe=1h&limit=20');
    const notBuilt = await QUEUE(jsonRequest('GET', '/api/review-queue?pair=GBPUSD&timeframe=1h'));
    expect(notBuilt.status).toBe(409);
    expect((await notBuilt.json()).detail).toContain('no review queue built');
  });

  it('answers 503 with a clear message when the service is down', async () => {
    const s = http.createServer();
    await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', resolve));
    const { port } = s.address() as AddressInfo;
    await new Promise<void>((resolve) => s.close(() => resolve()));
    process.env.INFERENCE_API_URL = `http://127.0.0.1:${port}`;
    const res = await QUEUE(jsonRequest('GET', '/api/review-queue?pair=EURUSD&timeframe=1h'));
    expect(res.status).toBe(503);
    const body = await res.json();
    expect(body.reason).toBe('service_unavailable');
    expect(body.detail).toMatch(/inference service is not reachable.*already loaded stays usable.*answers are still saved/);
    expect(body.detail).toContain(`127.0.0.1:${port}`);
  });

  it.each([
    ['pair=EURUSD&timeframe=1h&limit=0', 'limit'],
    ['pair=EURUSD&timeframe=1h&limit=501', 'limit'],
    ['pair=eurusd&timeframe=1h', 'pair'],
    ['pair=EURUSD', 'timeframe'],
  ])('rejects %s naming %s', async (query, field) => {
    process.env.INFERENCE_API_URL = stub();
    const before = seen.length;
    const res = await QUEUE(jsonRequest('GET', `/api/review-queue?${query}`));
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe(field);
    expect(seen.length).toBe(before); // never forwarded
  });
});

describe.each(TEST_DRIVERS)('/api/review-marks on %s', (driver) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await installTestDb(driver);
  });
  afterAll(async () => db.dispose());

  const body = {
    pair: 'EURUSD',
    timeframe: '1h',
    start_time: 1_700_002_800,
    end_time: 1_700_010_000,
    fingerprint: 'bull_flag@0.75',
    action: 'accept',
    annotation_id: '0b9f1a6e-0000-4000-8000-000000000001',
    model_version: 'v1',
  };

  it('creates, lists per partition and deletes marks', async () => {
    const created = await POST(jsonRequest('POST', '/api/review-marks', body));
    expect(created.status).toBe(201);
    const mark = (await created.json()) as ReviewMark;
    expect(mark).toMatchObject({ ...body, start_time: 1_700_002_800 });
    expect(mark.id).toMatch(/^[0-9a-f-]{36}$/);
    await POST(jsonRequest('POST', '/api/review-marks', { ...body, timeframe: '4h', action: 'dismiss' }));

    const listed = (await (await MARKS(jsonRequest('GET', '/api/review-marks?pair=EURUSD&timeframe=1h'))).json()) as ReviewMark[];
    expect(listed.map((m) => m.id)).toEqual([mark.id]);
    expect(typeof listed[0].end_time).toBe('number');

    const gone = await DELETE(jsonRequest('DELETE', `/api/review-marks?id=${mark.id}`));
    expect(gone.status).toBe(204);
    const again = await DELETE(jsonRequest('DELETE', `/api/review-marks?id=${mark.id}`));
    expect(again.status).toBe(404);
    expect((await again.json()).detail).toContain('already undone');
    expect(await (await MARKS(jsonRequest('GET', '/api/review-marks?pair=EURUSD&timeframe=1h'))).json()).toEqual([]);
  });

  it.each([
    [{ action: 'maybe' }, 'action'],
    [{ start_time: 1_700_020_000 }, 'start_time'],
    [{ fingerprint: '' }, 'fingerprint'],
    [{ extra: 1 }, 'extra'],
  ])('rejects a bad mark %j naming the field', async (change, field) => {
    const res = await POST(jsonRequest('POST', '/api/review-marks', { ...body, ...change }));
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe(field);
  });

  it('rejects a bad id and a missing partition', async () => {
    expect((await DELETE(jsonRequest('DELETE', '/api/review-marks?id=42'))).status).toBe(400);
    const res = await MARKS(jsonRequest('GET', '/api/review-marks?pair=EURUSD'));
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe('timeframe');
  });
});
