/**
 * The span-annotation database: one Drizzle handle per process, on one of two drivers.
 *
 * - embedded default: PGlite (PostgreSQL in WebAssembly) on disk under web/.data/pglite
 *   (PGLITE_DATA_DIR picks another folder; "memory://" keeps it in memory, for tests);
 * - ANNOTATIONS_DATABASE_URL set: PostgreSQL through node-postgres. (Renamed from DATABASE_URL,
 *   which is the Python side's `training_runs` database and no longer read here.)
 *
 * Both run the SQL migrations drizzle-kit generated into web/drizzle/ on first use.
 *
 * PGlite takes no lock on its data folder, and two processes writing one folder corrupt it.
 * So the handle lives on globalThis (it survives Next.js hot reloads), a pid file beside the
 * folder makes a second process fail fast with a message naming the owner, and the handle is
 * closed when the process is asked to stop.
 */
import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { drizzle as drizzlePg } from 'drizzle-orm/node-postgres';
import { migrate as migratePg } from 'drizzle-orm/node-postgres/migrator';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { drizzle as drizzlePglite } from 'drizzle-orm/pglite';
import { migrate as migratePglite } from 'drizzle-orm/pglite/migrator';
import { Pool } from 'pg';
import * as schema from './schema';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

/** An environment to read settings from (process.env, or a plain object in tests). */
type Env = Record<string, string | undefined>;

export type DbConfig =
  | { driver: 'pglite'; dataDir: string }
  | {
      driver: 'postgres';
      url: string;
      /** Search path and migrations schema; tests use their own. Default: the server's (public). */
      schema?: string;
    };

export interface DbHandle {
  db: Db;
  config: DbConfig;
  close(): Promise<void>;
}

const MEMORY = 'memory://';

/** The driver the environment asks for: ANNOTATIONS_DATABASE_URL, else PGlite under PGLITE_DATA_DIR or web/.data/pglite. */
export function dbConfigFromEnv(env: Env = process.env): DbConfig {
  const url = env.ANNOTATIONS_DATABASE_URL?.trim();
  if (url) return { driver: 'postgres', url };
  const dataDir = env.PGLITE_DATA_DIR?.trim() || path.join(process.cwd(), '.data', 'pglite');
  return { driver: 'pglite', dataDir };
}

/** Where drizzle-kit wrote the migrations. Next.js and vitest both run with web/ as cwd. */
export function migrationsFolder(env: Env = process.env): string {
  return env.DRIZZLE_MIGRATIONS_DIR?.trim() || path.join(process.cwd(), 'drizzle');
}

/** Open a database, apply the migrations, and return a handle that must be closed. */
export async function openDb(config: DbConfig): Promise<DbHandle> {
  return config.driver === 'postgres' ? openPostgres(config) : openPglite(config);
}

async function openPostgres(config: Extract<DbConfig, { driver: 'postgres' }>): Promise<DbHandle> {
  const pool = new Pool({
    connectionString: config.url,
    max: 5,
    ...(config.schema ? { options: `-c search_path=${quoteIdent(config.schema)}` } : {}),
  });
  try {
    const db = drizzlePg(pool, { schema });
    // Two server processes starting together must not both create the table.
    const lock = await pool.connect();
    try {
      await lock.query('select pg_advisory_lock(hashtext($1))', ['span_annotations_migrations']);
      if (config.schema) await lock.query(`create schema if not exists ${quoteIdent(config.schema)}`);
      await migratePg(db, {
        migrationsFolder: migrationsFolder(),
        ...(config.schema ? { migrationsSchema: config.schema } : {}),
      });
    } finally {
      await lock.query('select pg_advisory_unlock(hashtext($1))', ['span_annotations_migrations']).catch(() => {});
      lock.release();
    }
    return { db: db as unknown as Db, config, close: () => pool.end() };
  } catch (err) {
    await pool.end().catch(() => {});
    throw new Error(`Cannot use the PostgreSQL database given by ANNOTATIONS_DATABASE_URL (${redactUrl(config.url)}): ${message(err)}`, {
      cause: err,
    });
  }
}

async function openPglite(config: Extract<DbConfig, { driver: 'pglite' }>): Promise<DbHandle> {
  const inMemory = config.dataDir.startsWith(MEMORY);
  let releaseLock = () => {};
  if (!inMemory) {
    fs.mkdirSync(path.dirname(config.dataDir), { recursive: true });
    releaseLock = takeDataDirLock(config.dataDir);
  }
  let client: PGlite | undefined;
  try {
    client = new PGlite(inMemory ? undefined : config.dataDir);
    await client.waitReady;
    const db = drizzlePglite(client, { schema });
    await migratePglite(db, { migrationsFolder: migrationsFolder() });
    const opened = client;
    return {
      db: db as unknown as Db,
      config,
      close: async () => {
        try {
          if (!opened.closed) await opened.close();
        } finally {
          releaseLock();
        }
      },
    };
  } catch (err) {
    await client?.close().catch(() => {});
    releaseLock();
    throw new Error(`Cannot open the embedded PGlite database in ${config.dataDir}: ${message(err)}`, { cause: err });
  }
}

/**
 * Claim the data folder with a pid file beside it. A live owner makes this throw; a stale one
 * (its process is gone) is taken over, together with the postmaster.pid it left behind, which
 * would otherwise make PGlite abort on start.
 */
function takeDataDirLock(dataDir: string): () => void {
  const lockFile = `${dataDir}.lock`;
  const owner = readPid(lockFile);
  if (owner !== null && owner !== process.pid && isAlive(owner)) {
    throw new Error(
      `the folder is in use by process ${owner} (lock file ${lockFile}). ` +
        'Stop that process (another `next dev`/`next start`?) or set PGLITE_DATA_DIR to another folder.',
    );
  }
  if (owner !== process.pid) fs.rmSync(path.join(dataDir, 'postmaster.pid'), { force: true });
  fs.writeFileSync(lockFile, String(process.pid));
  return () => {
    if (readPid(lockFile) === process.pid) fs.rmSync(lockFile, { force: true });
  };
}

function readPid(file: string): number | null {
  try {
    const pid = Number.parseInt(fs.readFileSync(file, 'utf8').trim(), 10);
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

// ---------------------------------------------------------------------------------------------
// The process-wide handle.

interface DbGlobal {
  __spanAnnotationsDb?: Promise<DbHandle>;
  __spanAnnotationsDbShutdownHooked?: boolean;
}
const g = globalThis as typeof globalThis & DbGlobal;

/** The process's database, opened and migrated on first use. */
export async function getDb(): Promise<Db> {
  if (!g.__spanAnnotationsDb) {
    const opening = openDb(dbConfigFromEnv());
    g.__spanAnnotationsDb = opening;
    // A failed open (PostgreSQL down, folder locked) is retried by the next request.
    opening.catch(() => {
      if (g.__spanAnnotationsDb === opening) g.__spanAnnotationsDb = undefined;
    });
    hookShutdown();
  }
  return (await g.__spanAnnotationsDb).db;
}

/** Close the process's database, if open. */
export async function closeDb(): Promise<void> {
  const current = g.__spanAnnotationsDb;
  g.__spanAnnotationsDb = undefined;
  if (!current) return;
  const handle = await current.catch(() => null);
  await handle?.close();
}

/** Tests: make `handle` the process's database (the caller closes it). */
export function setDbHandle(handle: DbHandle | undefined): void {
  g.__spanAnnotationsDb = handle ? Promise.resolve(handle) : undefined;
}

/**
 * Close the database when the process is told to stop. Next.js's own SIGINT/SIGTERM handler
 * calls process.exit() once its server is closed; that exit is held until the database is
 * closed (at most 5 s), so PGlite always shuts down cleanly.
 */
function hookShutdown(): void {
  if (g.__spanAnnotationsDbShutdownHooked) return;
  g.__spanAnnotationsDbShutdownHooked = true;
  let closing: Promise<void> | null = null;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) return;
    const realExit = process.exit.bind(process);
    closing = Promise.race([closeDb(), new Promise<void>((resolve) => setTimeout(resolve, 5000).unref())])
      .catch((err) => console.error('Closing the annotations database failed:', err))
      .then(() => {
        process.exit = realExit;
      });
    let exitCode: number | string | null | undefined = 128 + (signal === 'SIGINT' ? 2 : 15);
    process.exit = ((code?: number | string | null) => {
      exitCode = code ?? exitCode;
      void closing!.then(() => realExit(exitCode as number));
    }) as typeof process.exit;
    // Nobody else listening (plain node, vitest): exit ourselves once closed.
    if (process.listenerCount(signal) <= 1) void closing.then(() => realExit(exitCode as number));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
}

function quoteIdent(name: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new Error(`invalid schema name ${JSON.stringify(name)}`);
  return `"${name}"`;
}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '(unparsable URL)';
  }
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
