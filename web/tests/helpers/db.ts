/**
 * Test databases: PGlite in memory, and the real PostgreSQL (DATABASE_URL for tests:
 * TEST_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/test) in a schema of its own
 * that is dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDb, setDbHandle, type DbHandle } from '@/lib/db/client';

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/test';

export type TestDriver = 'pglite' | 'postgres';

/** The drivers to run database suites on. WEB_TEST_SKIP_POSTGRES=1 leaves PostgreSQL out, visibly. */
export const TEST_DRIVERS: TestDriver[] = process.env.WEB_TEST_SKIP_POSTGRES === '1' ? ['pglite'] : ['pglite', 'postgres'];

export interface TestDb {
  handle: DbHandle;
  /** Close the handle, drop the PostgreSQL schema. */
  dispose(): Promise<void>;
}

export async function openTestDb(driver: TestDriver): Promise<TestDb> {
  if (driver === 'pglite') {
    const handle = await openDb({ driver: 'pglite', dataDir: 'memory://' });
    return { handle, dispose: () => handle.close() };
  }
  const schema = `web_test_${randomBytes(6).toString('hex')}`;
  const handle = await openDb({ driver: 'postgres', url: TEST_DATABASE_URL, schema });
  return {
    handle,
    dispose: async () => {
      await handle.close();
      const client = new Client({ connectionString: TEST_DATABASE_URL });
      await client.connect();
      try {
        await client.query(`drop schema if exists "${schema}" cascade`);
      } finally {
        await client.end();
      }
    },
  };
}

/** Open a test database and make it the process's database for the route handlers. */
export async function installTestDb(driver: TestDriver): Promise<TestDb> {
  const db = await openTestDb(driver);
  setDbHandle(db.handle);
  return {
    handle: db.handle,
    dispose: async () => {
      setDbHandle(undefined);
      await db.dispose();
    },
  };
}
