/**
 * Review marks: which review-queue stretches were answered, kept in the web's database (table
 * `review_marks`, created here with CREATE TABLE IF NOT EXISTS on first use, on PGlite and on
 * PostgreSQL alike: both speak the same SQL). Not a drizzle migration: the annotation schema and
 * its migrations belong to span annotations; this table is the review panel's own.
 *
 * One row per answered stretch: its partition and times, the fingerprint of the model's answer
 * when it was answered (the stretch stays out of the queue while the model answers the same),
 * the action, the annotation it saved, the model version.
 */
import { sql } from 'drizzle-orm';
import type { ReviewAction, ReviewMark, ReviewMarkInput } from '@/lib/review-queue';
import { getDb, type Db } from './client';
import { isoSeconds } from './queries';

const CREATE = sql`
  CREATE TABLE IF NOT EXISTS review_marks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    pair text NOT NULL,
    timeframe text NOT NULL,
    start_time bigint NOT NULL,
    end_time bigint NOT NULL,
    fingerprint text NOT NULL,
    action text NOT NULL CHECK (action IN ('accept', 'dismiss', 'edit')),
    annotation_id text,
    model_version text NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
  )`;
const INDEX = sql`CREATE INDEX IF NOT EXISTS review_marks_partition ON review_marks (pair, timeframe, start_time)`;

const ready = new WeakMap<Db, Promise<void>>();

/** The process's database with the review_marks table there (created once per handle). */
async function marksDb(): Promise<Db> {
  const db = await getDb();
  let creating = ready.get(db);
  if (!creating) {
    creating = (async () => {
      await db.execute(CREATE);
      await db.execute(INDEX);
    })();
    ready.set(db, creating);
    creating.catch(() => ready.delete(db));
  }
  await creating;
  return db;
}

interface Row {
  id: string;
  pair: string;
  timeframe: string;
  start_time: string | number;
  end_time: string | number;
  fingerprint: string;
  action: string;
  annotation_id: string | null;
  model_version: string;
  created_at: string | Date;
}

function rowsOf(result: unknown): Row[] {
  return ((result as { rows?: Row[] }).rows ?? []) as Row[];
}

function toMark(row: Row): ReviewMark {
  return {
    id: row.id,
    pair: row.pair,
    timeframe: row.timeframe,
    start_time: Number(row.start_time),
    end_time: Number(row.end_time),
    fingerprint: row.fingerprint,
    action: row.action as ReviewAction,
    annotation_id: row.annotation_id,
    model_version: row.model_version,
    created_at: isoSeconds(new Date(row.created_at)),
  };
}

/** The marks of one partition, oldest first. */
export async function listReviewMarks(pair: string, timeframe: string): Promise<ReviewMark[]> {
  const db = await marksDb();
  const result = await db.execute(
    sql`SELECT * FROM review_marks WHERE pair = ${pair} AND timeframe = ${timeframe} ORDER BY created_at, start_time`,
  );
  return rowsOf(result).map(toMark);
}

export async function createReviewMark(input: ReviewMarkInput): Promise<ReviewMark> {
  const db = await marksDb();
  const result = await db.execute(sql`
    INSERT INTO review_marks (pair, timeframe, start_time, end_time, fingerprint, action, annotation_id, model_version)
    VALUES (${input.pair}, ${input.timeframe}, ${input.start_time}, ${input.end_time}, ${input.fingerprint},
            ${input.action}, ${input.annotation_id}, ${input.model_version})
    RETURNING *`);
  return toMark(rowsOf(result)[0]);
}

/** True when a mark was deleted (undo). */
export async function deleteReviewMark(id: string): Promise<boolean> {
  const db = await marksDb();
  const result = await db.execute(sql`DELETE FROM review_marks WHERE id = ${id} RETURNING id`);
  return rowsOf(result).length > 0;
}
