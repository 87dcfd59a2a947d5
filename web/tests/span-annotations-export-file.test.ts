/** The partition export files (lib/export-file.ts) written by the span annotation routes. */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DELETE, PATCH } from '@/app/api/span-annotations/[id]/route';
import { POST } from '@/app/api/span-annotations/route';
import { setAnnotationFactsLoader, type AnnotationFacts } from '@/lib/annotation-rules';
import { spanAnnotations } from '@/lib/db/schema';
import { exportDirFromEnv, partitionFileName, syncPartitionExport, writeFileAtomic } from '@/lib/export-file';
import type { AnnotationExport, SpanAnnotation } from '@/types';
import { installTestDb, type TestDb } from './helpers/db';
import { jsonRequest, params } from './helpers/routes';

const FIRST = 1_690_000_000 - (1_690_000_000 % 14_400);
const LAST = 1_710_000_000 - (1_710_000_000 % 14_400);
const facts: AnnotationFacts = {
  partitions: [
    { pair: 'EURUSD', timeframe: '1h', first_time: FIRST, last_time: LAST },
    { pair: 'GBPUSD', timeframe: '1h', first_time: FIRST, last_time: LAST },
  ],
  modelLabels: ['bull_flag', 'double_top'],
};
const base = { pair: 'EURUSD', timeframe: '1h', label: 'bull_flag', start_time: 1_699_999_200, end_time: 1_700_035_200 };

async function create(body: Record<string, unknown>): Promise<SpanAnnotation> {
  const res = await POST(jsonRequest('POST', '/api/span-annotations', body));
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json();
}

async function readExport(dir: string, name: string): Promise<AnnotationExport> {
  return JSON.parse(await readFile(path.join(dir, name), 'utf8'));
}

describe('partition export files', () => {
  let db: TestDb;
  let dir: string;
  const saved = process.env.ANNOTATIONS_EXPORT_DIR;
  beforeAll(async () => {
    db = await installTestDb('pglite');
    setAnnotationFactsLoader(async () => facts);
  });
  afterAll(async () => {
    setAnnotationFactsLoader(null);
    await db?.dispose();
  });
  beforeEach(async () => {
    await db.handle.db.delete(spanAnnotations);
    dir = await mkdtemp(path.join(os.tmpdir(), 'annotations-export-'));
    process.env.ANNOTATIONS_EXPORT_DIR = dir;
  });
  afterEach(async () => {
    if (saved === undefined) delete process.env.ANNOTATIONS_EXPORT_DIR;
    else process.env.ANNOTATIONS_EXPORT_DIR = saved;
    await rm(dir, { recursive: true, force: true });
  });

  it('reads the folder from ANNOTATIONS_EXPORT_DIR; unset or blank means none', () => {
    expect(exportDirFromEnv({})).toBeNull();
    expect(exportDirFromEnv({ ANNOTATIONS_EXPORT_DIR: '  ' })).toBeNull();
    expect(exportDirFromEnv({ ANNOTATIONS_EXPORT_DIR: '/data/annotations' })).toBe('/data/annotations');
    expect(partitionFileName('BTC-USDT', '4h')).toBe('BTC-USDT_4h.json');
  });

  it('create, update and delete each rewrite the whole partition file', async () => {
    const a = await create(base);
    const b = await create({ ...base, label: 'double_top', start_time: 1_700_100_000 - (1_700_100_000 % 3600), end_time: 1_700_200_800 });
    await create({ ...base, pair: 'GBPUSD' });
    let eur = await readExport(dir, 'EURUSD_1h.json');
    expect(eur.version).toBe(1);
    expect(eur.annotations.map((x) => x.id).sort()).toEqual([a.id, b.id].sort());
    expect((await readExport(dir, 'GBPUSD_1h.json')).annotations).toHaveLength(1);

    const patched = await PATCH(jsonRequest('PATCH', `/api/span-annotations/${a.id}`, { note: 'checked' }), params({ id: a.id }));
    expect(patched.status).toBe(200);
    eur = await readExport(dir, 'EURUSD_1h.json');
    expect(eur.annotations.find((x) => x.id === a.id)?.note).toBe('checked');
    expect(eur.annotations).toHaveLength(2);

    const deleted = await DELETE(jsonRequest('DELETE', `/api/span-annotations/${b.id}`), params({ id: b.id }));
    expect(deleted.status).toBe(204);
    eur = await readExport(dir, 'EURUSD_1h.json');
    expect(eur.annotations.map((x) => x.id)).toEqual([a.id]); // the deletion is reflected
    await DELETE(jsonRequest('DELETE', `/api/span-annotations/${a.id}`), params({ id: a.id }));
    expect((await readExport(dir, 'EURUSD_1h.json')).annotations).toEqual([]); // emptied, not left stale
    expect((await readdir(dir)).sort()).toEqual(['EURUSD_1h.json', 'GBPUSD_1h.json']); // no temp file left
  });

  it('concurrent saves end with a file holding all of them', async () => {
    const starts = [0, 1, 2, 3, 4, 5].map((i) => 1_699_999_200 + i * 3600 * 20);
    await Promise.all(starts.map((start) => create({ ...base, start_time: start, end_time: start + 3600 * 10 })));
    const file = await readExport(dir, 'EURUSD_1h.json');
    expect(file.annotations).toHaveLength(6);
  });

  it('writes nothing when the folder is unset', async () => {
    delete process.env.ANNOTATIONS_EXPORT_DIR;
    await create(base);
    await syncPartitionExport('EURUSD', '1h');
    expect(await readdir(dir)).toEqual([]);
  });

  it('replaces a file atomically: readers see the old or the new document, never a mix', async () => {
    const file = path.join(dir, 'EURUSD_1h.json');
    await writeFile(file, 'old');
    await writeFileAtomic(file, 'new content');
    expect(await readFile(file, 'utf8')).toBe('new content');
    expect(await readdir(dir)).toEqual(['EURUSD_1h.json']);
    // A failed write (the target is a folder) leaves the old file and no temp file behind.
    const blocked = path.join(dir, 'blocked.json');
    await (await import('node:fs/promises')).mkdir(blocked);
    await expect(writeFileAtomic(blocked, 'x')).rejects.toThrow();
    expect((await readdir(dir)).sort()).toEqual(['EURUSD_1h.json', 'blocked.json']);
  });
});
