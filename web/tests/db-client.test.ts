import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import { dbConfigFromEnv, openDb } from '@/lib/db/client';
import { spanAnnotations } from '@/lib/db/schema';

// One on-disk folder for the file: creating a PGlite cluster (initdb) takes seconds, more on a busy machine.
const root = fs.mkdtempSync(path.join(os.tmpdir(), 'web-pglite-'));
const dataDir = path.join(root, 'nested', 'pglite');
afterAll(() => {
  fs.rmSync(root, { recursive: true, force: true });
});
const SLOW = 180_000;

const row = { pair: 'EURUSD', timeframe: '1h', label: 'bull_flag', startTime: 10, endTime: 20 };

describe('database client', () => {
  it('picks PostgreSQL from ANNOTATIONS_DATABASE_URL, else PGlite under .data', () => {
    expect(dbConfigFromEnv({ ANNOTATIONS_DATABASE_URL: 'postgres://u@h/db' })).toEqual({ driver: 'postgres', url: 'postgres://u@h/db' });
    expect(dbConfigFromEnv({})).toEqual({ driver: 'pglite', dataDir: path.join(process.cwd(), '.data', 'pglite') });
    expect(dbConfigFromEnv({ PGLITE_DATA_DIR: '/x/y' })).toEqual({ driver: 'pglite', dataDir: '/x/y' });
  });

  it('keeps PGlite data on disk across a close and reopen, migrating once', async () => {
    const first = await openDb({ driver: 'pglite', dataDir });
    await first.db.insert(spanAnnotations).values(row);
    await first.close();
    expect(fs.existsSync(`${dataDir}.lock`)).toBe(false);

    const second = await openDb({ driver: 'pglite', dataDir });
    const rows = await second.db.select().from(spanAnnotations);
    await second.close();
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({ ...row, source: 'human', confidence: 1, note: '' });
  }, SLOW);

  it('refuses a data folder another live process holds, and takes over a stale lock', async () => {
    const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 30000)'], { stdio: 'ignore' });
    try {
      fs.writeFileSync(`${dataDir}.lock`, String(other.pid));
      await expect(openDb({ driver: 'pglite', dataDir })).rejects.toThrow(`in use by process ${other.pid}`);
    } finally {
      other.kill();
      await new Promise((resolve) => other.once('exit', resolve));
    }
    const handle = await openDb({ driver: 'pglite', dataDir });
    expect(fs.readFileSync(`${dataDir}.lock`, 'utf8')).toBe(String(process.pid));
    expect(await handle.db.select().from(spanAnnotations)).toHaveLength(1);
    await handle.close();
  }, SLOW);

  it('names ANNOTATIONS_DATABASE_URL when PostgreSQL cannot be reached', async () => {
    await expect(openDb({ driver: 'postgres', url: 'postgres://postgres:pw@127.0.0.1:1/none' })).rejects.toThrow(
      /ANNOTATIONS_DATABASE_URL \(postgres:\/\/postgres:\*\*\*@127\.0\.0\.1:1\/none\)/,
    );
  });
});
