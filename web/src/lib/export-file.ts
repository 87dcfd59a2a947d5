/**
 * The partition export files the pipeline reads: `{ANNOTATIONS_EXPORT_DIR}/{PAIR}_{TF}.json`.
 *
 * Every create, update and delete of a span annotation rewrites its partition's file, whole,
 * in the export format (lib/export.ts), atomically: a hidden temp file in the same folder,
 * fsync, rename over the old file, fsync of the folder. Writes of one partition are serialized
 * and each reads the database when it runs, so the last write always holds the latest state.
 * `ANNOTATIONS_EXPORT_DIR` unset or empty: no file is written (the Export button still works).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { listSpanAnnotations } from './db/queries';
import type { SpanAnnotationRow } from './db/schema';
import { toExportDocument } from './export';

type Env = Record<string, string | undefined>;

/** The folder to write partition files to, or null when `ANNOTATIONS_EXPORT_DIR` is unset/empty. */
export function exportDirFromEnv(env: Env = process.env): string | null {
  const dir = env.ANNOTATIONS_EXPORT_DIR?.trim();
  return dir ? path.resolve(dir) : null;
}

/** `EURUSD`, `1h` -> `EURUSD_1h.json` (the pipeline's `partition_file_name`). */
export function partitionFileName(pair: string, timeframe: string): string {
  return `${pair}_${timeframe}.json`;
}

/** Write `data` to `file` atomically: temp file + fsync + rename (+ fsync of the folder where allowed). */
export async function writeFileAtomic(file: string, data: string): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    const handle = await open(temp, 'w');
    try {
      await handle.writeFile(data, 'utf8');
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
  try {
    const folder = await open(dir, 'r');
    try {
      await folder.sync();
    } finally {
      await folder.close();
    }
  } catch {
    // fsync of a directory is not supported everywhere (e.g. some mounts): the rename is still atomic.
  }
}

/** Write one partition's file from `rows` (all of the partition's annotations). Returns the path. */
export async function writePartitionExport(
  dir: string,
  pair: string,
  timeframe: string,
  rows: SpanAnnotationRow[],
  now: Date = new Date(),
): Promise<string> {
  const file = path.join(dir, partitionFileName(pair, timeframe));
  await writeFileAtomic(file, `${JSON.stringify(toExportDocument(rows, now), null, 2)}\n`);
  return file;
}

const chains = new Map<string, Promise<unknown>>();

/**
 * Rewrite the partition's file from the database after a save or delete (no-op when the folder is unset).
 * Resolves once this partition's file reflects the database as of this call; a failed write is logged,
 * never thrown (the save itself succeeded; the next save rewrites the whole file).
 */
export function syncPartitionExport(pair: string, timeframe: string, env: Env = process.env): Promise<void> {
  const dir = exportDirFromEnv(env);
  if (!dir) return Promise.resolve();
  const key = partitionFileName(pair, timeframe);
  const write = async () => {
    try {
      await writePartitionExport(dir, pair, timeframe, await listSpanAnnotations({ pair, timeframe }));
    } catch (error) {
      console.error(`annotation export: could not write ${path.join(dir, key)}: ${String(error)}`);
    }
  };
  const next = (chains.get(key) ?? Promise.resolve()).then(write);
  chains.set(key, next);
  void next.finally(() => {
    if (chains.get(key) === next) chains.delete(key);
  });
  return next;
}
