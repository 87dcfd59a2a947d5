/**
 * Request validation (zod). Route handlers parse with these, answer 400 with the field at
 * fault when parsing fails, and hand the typed result to lib/.
 */
import { z } from 'zod';
import type { ApiError } from '@/types';
import { NEGATIVE_LABEL, NOTE_MAX_CHARS, PAIR_PATTERN, SOURCES, TIMEFRAMES } from './constants';

export { NEGATIVE_LABEL, PAIR_PATTERN, SOURCES, TIMEFRAMES };

/** Epoch seconds above this are almost surely milliseconds (year 5138). */
const MAX_EPOCH_SECONDS = 99_999_999_999;

export const pairSchema = z
  .string()
  .regex(PAIR_PATTERN, 'must be upper-case letters and digits, optionally joined by "-" (EURUSD, BTC-USDT)');
export const timeframeSchema = z.enum(TIMEFRAMES, `must be one of ${TIMEFRAMES.join(', ')}`);
export const labelSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(64, 'must be at most 64 characters')
  .regex(/^[A-Za-z0-9_-]+$/, 'may hold only letters, digits, "_" and "-" (bull_flag)');
const epochSeconds = z
  .number()
  .int('must be whole epoch seconds (UTC)')
  .nonnegative('must not be negative')
  .max(MAX_EPOCH_SECONDS, 'looks like milliseconds: send epoch seconds');
const confidenceSchema = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
export const sourceSchema = z.enum(SOURCES, `must be one of ${SOURCES.join(', ')}`);
export const modelPredictionSchema = z.looseObject({
  label: z.string().min(1, 'must not be empty'),
  confidence: confidenceSchema,
  model_version: z.string(),
});
const noteSchema = z.string().max(NOTE_MAX_CHARS, `must be at most ${NOTE_MAX_CHARS} characters`);

/** A negative annotation (label O) is a human correction of the model. */
function checkNegative(
  value: { label?: string; source?: string },
  ctx: z.RefinementCtx,
): void {
  if (value.label === NEGATIVE_LABEL && value.source !== undefined && value.source !== 'human_correction') {
    ctx.addIssue({
      code: 'custom',
      path: ['source'],
      message: `must be human_correction for a negative annotation (label ${NEGATIVE_LABEL})`,
    });
  }
}

/** POST /api/span-annotations. */
export const createSpanAnnotationSchema = z
  .strictObject({
    pair: pairSchema,
    timeframe: timeframeSchema,
    label: labelSchema,
    start_time: epochSeconds,
    end_time: epochSeconds,
    confidence: confidenceSchema.default(1),
    source: sourceSchema.optional(),
    model_prediction: modelPredictionSchema.nullable().default(null),
    note: noteSchema.default(''),
  })
  .superRefine((v, ctx) => {
    if (v.end_time < v.start_time) {
      ctx.addIssue({ code: 'custom', path: ['end_time'], message: `must be at or after start_time (${v.start_time})` });
    }
    checkNegative(v, ctx);
  })
  .transform((v) => ({ ...v, source: v.source ?? (v.label === NEGATIVE_LABEL ? 'human_correction' : 'human') }));

export type CreateSpanAnnotation = z.output<typeof createSpanAnnotationSchema>;

/** PATCH /api/span-annotations/[id]: any of the editable fields; pair and timeframe stay. */
export const patchSpanAnnotationSchema = z
  .strictObject({
    label: labelSchema,
    start_time: epochSeconds,
    end_time: epochSeconds,
    confidence: confidenceSchema,
    source: sourceSchema,
    model_prediction: modelPredictionSchema.nullable(),
    note: noteSchema,
  })
  .partial()
  .superRefine((v, ctx) => {
    if (v.start_time !== undefined && v.end_time !== undefined && v.end_time < v.start_time) {
      ctx.addIssue({ code: 'custom', path: ['end_time'], message: `must be at or after start_time (${v.start_time})` });
    }
    checkNegative(v, ctx);
  });

export type PatchSpanAnnotation = z.output<typeof patchSpanAnnotationSchema>;

export const idSchema = z.uuid('must be an annotation id (a UUID)');

/** Query of GET /api/span-annotations and its export: both filters optional. */
export const partitionFilterSchema = z.object({
  pair: pairSchema.optional(),
  timeframe: timeframeSchema.optional(),
});

const queryInt = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be ${what}`)
    .transform((s) => Number(s));

/** Query of GET /api/candles, forwarded to the service's GET /candles. */
export const candlesQuerySchema = z.object({
  pair: pairSchema,
  timeframe: timeframeSchema,
  start: queryInt('epoch seconds').optional(),
  end: queryInt('epoch seconds').optional(),
  limit: queryInt('a positive whole number')
    .pipe(z.number().min(1, 'must be at least 1').max(200_000, 'must be at most 200000'))
    .optional(),
});

/** Messages a person reads: "is required" rather than "expected number, received undefined". */
const errorMap: z.core.$ZodErrorMap = (issue) => {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'is required';
  if (issue.code === 'invalid_type') return `must be a ${issue.expected}`;
  return undefined;
};

export type Parsed<T> = { ok: true; data: T } | { ok: false; error: ApiError };

/** Parse `input`; on failure an ApiError naming the first field at fault and listing them all. */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, what: string): Parsed<z.output<S>> {
  const result = schema.safeParse(input, { error: errorMap });
  if (result.success) return { ok: true, data: result.data };
  const errors = result.error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ field: key, message: 'is not a known field' }));
    }
    return [{ field: issue.path.join('.') || '(body)', message: issue.message }];
  });
  const first = errors[0];
  return {
    ok: false,
    error: { detail: `Invalid ${what}: ${first.field} ${first.message}`, field: first.field, errors },
  };
}

/** URLSearchParams to a plain object, dropping empty values (`?pair=&timeframe=1h`). */
export function queryObject(params: URLSearchParams): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of params) if (value !== '') out[key] = value;
  return out;
}
