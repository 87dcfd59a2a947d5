import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELETE, GET as GET_ONE, PATCH } from '@/app/api/span-annotations/[id]/route';
import { GET as EXPORT } from '@/app/api/span-annotations/export/route';
import { GET, POST } from '@/app/api/span-annotations/route';
import { setAnnotationFactsLoader, type AnnotationFacts } from '@/lib/annotation-rules';
import { spanAnnotations } from '@/lib/db/schema';
import type { AnnotationExport, SpanAnnotation } from '@/types';
import { installTestDb, TEST_DRIVERS, type TestDb } from './helpers/db';
import { jsonRequest, params } from './helpers/routes';

const base = {
  pair: 'EURUSD',
  timeframe: '1h',
  label: 'bull_flag',
  start_time: 1_699_999_200, // on the hour: a candle boundary
  end_time: 1_700_035_200,
};

/** What the service says in these tests: three partitions around base's times, and the model's labels. */
const FIRST = 1_690_000_000 - (1_690_000_000 % 14_400);
const LAST = 1_710_000_000 - (1_710_000_000 % 14_400);
const facts: AnnotationFacts = {
  partitions: [
    { pair: 'EURUSD', timeframe: '1h', first_time: FIRST, last_time: LAST },
    { pair: 'GBPUSD', timeframe: '1h', first_time: FIRST, last_time: LAST },
    { pair: 'EURUSD', timeframe: '4h', first_time: FIRST, last_time: LAST },
  ],
  modelLabels: ['bull_flag', 'double_top', 'bullish_engulfing'],
};

async function create(body: Record<string, unknown>): Promise<SpanAnnotation> {
  const res = await POST(jsonRequest('POST', '/api/span-annotations', body));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

describe.each(TEST_DRIVERS)('span annotation routes on %s', (driver) => {
  let db: TestDb;
  beforeAll(async () => {
    db = await installTestDb(driver);
    setAnnotationFactsLoader(async () => facts);
  });
  afterAll(async () => {
    setAnnotationFactsLoader(null);
    await db?.dispose();
  });
  beforeEach(async () => {
    await db.handle.db.delete(spanAnnotations);
  });

  it('creates with defaults and lists by partition', async () => {
    const saved = await create(base);
    expect(saved).toMatchObject({ ...base, confidence: 1, source: 'human', model_prediction: null, note: '' });
    expect(saved.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(saved.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    await create({ ...base, pair: 'GBPUSD' });
    await create({ ...base, timeframe: '4h' });

    const res = await GET(jsonRequest('GET', '/api/span-annotations?pair=EURUSD&timeframe=1h'));
    expect(res.status).toBe(200);
    const list: SpanAnnotation[] = await res.json();
    expect(list.map((a) => a.id)).toEqual([saved.id]);

    const all: SpanAnnotation[] = await (await GET(jsonRequest('GET', '/api/span-annotations'))).json();
    expect(all).toHaveLength(3);
  });

  it('keeps confidence, note, source and model_prediction as sent', async () => {
    const prediction = { label: 'double_top', confidence: 0.81, model_version: '3' };
    const saved = await create({ ...base, confidence: 0.9, note: 'tight flag', source: 'model', model_prediction: prediction });
    expect(saved).toMatchObject({ confidence: 0.9, note: 'tight flag', source: 'model', model_prediction: prediction });
  });

  it('saves a negative annotation as a human correction', async () => {
    const prediction = { label: 'bull_flag', confidence: 0.7, model_version: '2' };
    const saved = await create({ ...base, label: 'O', model_prediction: prediction });
    expect(saved).toMatchObject({ label: 'O', source: 'human_correction', model_prediction: prediction });
    const rejected = await POST(jsonRequest('POST', '/api/span-annotations', { ...base, label: 'O', source: 'human' }));
    expect(rejected.status).toBe(400);
    expect((await rejected.json()).field).toBe('source');
  });

  it.each([
    ['pair', { ...base, pair: 'eurusd' }],
    ['timeframe', { ...base, timeframe: '2h' }],
    ['label', { ...base, label: '' }],
    ['label', { ...base, label: 'bull flag; drop table' }],
    ['start_time', { ...base, start_time: 1.5 }],
    ['start_time', { ...base, start_time: 1_700_000_000_000, end_time: 1_700_000_000_000 }],
    ['end_time', { ...base, end_time: base.start_time - 3600 }],
    ['confidence', { ...base, confidence: 1.2 }],
    ['source', { ...base, source: 'robot' }],
    ['model_prediction.confidence', { ...base, model_prediction: { label: 'x', confidence: 2, model_version: '1' } }],
    ['startTime', { ...base, startTime: 1 }],
    ['label', { pair: 'EURUSD', timeframe: '1h', start_time: 1, end_time: 2 }],
  ])('POST answers 400 naming %s', async (field, body) => {
    const res = await POST(jsonRequest('POST', '/api/span-annotations', body));
    expect(res.status).toBe(400);
    const error = await res.json();
    expect(error.field).toBe(field);
    expect(error.detail).toContain(field);
  });

  it('POST answers 400 for a body that is not JSON', async () => {
    const res = await POST(jsonRequest('POST', '/api/span-annotations', '{"pair": '));
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toMatch(/not valid JSON/);
  });

  it('GET answers 400 for a bad filter', async () => {
    const res = await GET(jsonRequest('GET', '/api/span-annotations?timeframe=7h'));
    expect(res.status).toBe(400);
    expect((await res.json()).field).toBe('timeframe');
  });

  it('PATCH edits and bumps updated_at; DELETE removes', async () => {
    const saved = await create(base);
    await new Promise((r) => setTimeout(r, 1100));
    const res = await PATCH(jsonRequest('PATCH', `/api/span-annotations/${saved.id}`, { label: 'double_top', note: 'n' }), params({ id: saved.id }));
    expect(res.status).toBe(200);
    const edited: SpanAnnotation = await res.json();
    expect(edited).toMatchObject({ id: saved.id, label: 'double_top', note: 'n', start_time: base.start_time });
    expect(edited.updated_at > saved.updated_at).toBe(true);
    expect(edited.created_at).toBe(saved.created_at);

    const fetched = await GET_ONE(jsonRequest('GET', `/api/span-annotations/${saved.id}`), params({ id: saved.id }));
    expect((await fetched.json()).label).toBe('double_top');

    const del = await DELETE(jsonRequest('DELETE', `/api/span-annotations/${saved.id}`), params({ id: saved.id }));
    expect(del.status).toBe(204);
    const again = await DELETE(jsonRequest('DELETE', `/api/span-annotations/${saved.id}`), params({ id: saved.id }));
    expect(again.status).toBe(404);
  });

  it('PATCH validates against the stored span', async () => {
    const saved = await create(base);
    const reversed = await PATCH(jsonRequest('PATCH', '/x', { end_time: base.start_time - 1 }), params({ id: saved.id }));
    expect(reversed.status).toBe(400);
    expect((await reversed.json()).field).toBe('end_time');
    const immutable = await PATCH(jsonRequest('PATCH', '/x', { pair: 'GBPUSD' }), params({ id: saved.id }));
    expect(immutable.status).toBe(400);
    expect((await immutable.json()).field).toBe('pair');
    const badId = await PATCH(jsonRequest('PATCH', '/x', { note: '' }), params({ id: 'nope' }));
    expect(badId.status).toBe(400);
    expect((await badId.json()).field).toBe('id');
    const missing = await PATCH(jsonRequest('PATCH', '/x', { note: '' }), params({ id: '00000000-0000-4000-8000-000000000000' }));
    expect(missing.status).toBe(404);
    const negative = await PATCH(jsonRequest('PATCH', '/x', { label: 'O' }), params({ id: saved.id }));
    expect(await negative.json()).toMatchObject({ label: 'O', source: 'human_correction' });
  });

  it('exports exactly the docs/DESIGN.md shape', async () => {
    const a = await create({ ...base, confidence: 0.9 });
    await create({ ...base, pair: 'GBPUSD' });
    const res = await EXPORT(jsonRequest('GET', '/api/span-annotations/export?pair=EURUSD&timeframe=1h'));
    expect(res.status).toBe(200);
    expect(res.headers.get('content-disposition')).toBeNull();
    const doc: AnnotationExport = await res.json();
    expect(Object.keys(doc)).toEqual(['version', 'exported_at', 'annotations']);
    expect(doc.version).toBe(1);
    expect(doc.exported_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(doc.annotations).toHaveLength(1);
    const [exported] = doc.annotations;
    expect(Object.keys(exported)).toEqual([
      'id', 'pair', 'timeframe', 'label', 'start_time', 'end_time', 'confidence', 'source', 'model_prediction', 'note', 'created_at',
    ]);
    expect(exported).toEqual({
      id: a.id, pair: 'EURUSD', timeframe: '1h', label: 'bull_flag', start_time: base.start_time, end_time: base.end_time,
      confidence: 0.9, source: 'human', model_prediction: null, note: '', created_at: a.created_at,
    });
    expect(Number.isInteger(exported.start_time) && Number.isInteger(exported.end_time)).toBe(true);

    const download = await EXPORT(jsonRequest('GET', '/api/span-annotations/export?download=1'));
    expect(download.headers.get('content-disposition')).toBe('attachment; filename="annotations_all.json"');
    expect((await download.json()).annotations).toHaveLength(2);
  });

  // --- Strict saving (lib/annotation-rules.ts) ------------------------------------------
  const post = (body: Record<string, unknown>) => POST(jsonRequest('POST', '/api/span-annotations', body));

  it('refuses an unknown label, also through PATCH; accepts configured, model and O labels', async () => {
    const res = await post({ ...base, label: 'rocket_ship' });
    expect(res.status).toBe(400);
    const error = await res.json();
    expect(error.field).toBe('label');
    expect(error.detail).toMatch(/rocket_ship.*bull_flag.*O/);
    await create({ ...base, label: 'head_and_shoulders' }); // configured
    await create({ ...base, label: 'bullish_engulfing' }); // the model knows it
    const saved = await create({ ...base, label: 'O' });
    const patched = await PATCH(jsonRequest('PATCH', '/x', { label: 'rocket_ship' }), params({ id: saved.id }));
    expect(patched.status).toBe(400);
    expect((await patched.json()).field).toBe('label');
  });

  it('refuses a partition the service does not list', async () => {
    const res = await post({ ...base, pair: 'XAUUSD' });
    expect(res.status).toBe(400);
    const error = await res.json();
    expect(error.field).toBe('pair');
    expect(error.detail).toMatch(/XAUUSD 1h.*EURUSD 1h/);
  });

  it('snaps times to the candle they fall in, and refuses times off the stored candles', async () => {
    const saved = await create({ ...base, start_time: base.start_time + 40 * 60, end_time: base.end_time + 59 * 60 });
    expect([saved.start_time, saved.end_time]).toEqual([base.start_time, base.end_time]);
    const before = await post({ ...base, start_time: FIRST - 3600 });
    expect(before.status).toBe(400);
    expect((await before.json()).field).toBe('start_time');
    const after = await post({ ...base, end_time: LAST + 3600 });
    expect(after.status).toBe(400);
    expect((await after.json()).detail).toMatch(/lies off the stored candles/);
    const moved = await PATCH(jsonRequest('PATCH', '/x', { end_time: base.end_time + 7200 + 1234 }), params({ id: saved.id }));
    expect((await moved.json()).end_time).toBe(base.end_time + 7200);
  });

  it('answers 409 with the existing id for an exact duplicate, also when a PATCH would make one', async () => {
    const first = await create(base);
    const res = await post(base);
    expect(res.status).toBe(409);
    expect(await res.json()).toMatchObject({ existing_id: first.id });
    const other = await create({ ...base, label: 'double_top' });
    const clash = await PATCH(jsonRequest('PATCH', '/x', { label: 'bull_flag' }), params({ id: other.id }));
    expect(clash.status).toBe(409);
    // Editing the span itself is not a duplicate of itself.
    const same = await PATCH(jsonRequest('PATCH', '/x', { note: 'n' }), params({ id: first.id }));
    expect(same.status).toBe(200);
  });

  it('says the limit of a note that is too long', async () => {
    const res = await post({ ...base, note: 'x'.repeat(4001) });
    expect(res.status).toBe(400);
    expect((await res.json()).detail).toMatch(/note must be at most 4000 characters/);
  });

  it('while the service cannot be reached: configured labels only, times on the timeframe grid', async () => {
    setAnnotationFactsLoader(async () => ({ partitions: null, modelLabels: null }));
    try {
      const saved = await create({ ...base, pair: 'XAUUSD', start_time: base.start_time + 600 });
      expect(saved.start_time).toBe(base.start_time);
      expect((await post({ ...base, label: 'bullish_engulfing' })).status).toBe(400);
    } finally {
      setAnnotationFactsLoader(async () => facts);
    }
  });
});
