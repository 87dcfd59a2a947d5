/** Request validation of /api/review-queue and /api/review-marks (zod), with lib/validation's messages. */
import { z } from 'zod';
import { pairSchema, timeframeSchema } from './validation';

/** The service's limit on GET /review-queue (serving/review_schemas.py MAX_REVIEW_LIMIT). */
export const MAX_REVIEW_LIMIT = 500;

const whole = (what: string) =>
  z
    .string()
    .regex(/^\d+$/, `must be ${what}`)
    .transform((s) => Number(s));

/** Query of GET /api/review-queue, forwarded to the service's GET /review-queue. */
export const reviewQueueQuerySchema = z.object({
  pair: pairSchema,
  timeframe: timeframeSchema,
  limit: whole('a positive whole number')
    .pipe(z.number().min(1, 'must be at least 1').max(MAX_REVIEW_LIMIT, `must be at most ${MAX_REVIEW_LIMIT}`))
    .optional(),
});

/** Query of GET /api/review-marks. */
export const reviewMarksQuerySchema = z.object({ pair: pairSchema, timeframe: timeframeSchema });

/** Query of DELETE /api/review-marks (undo). */
export const reviewMarkIdSchema = z.object({ id: z.uuid('must be a review mark id (a UUID)') });

const epochSeconds = z.number().int('must be whole epoch seconds (UTC)').nonnegative('must not be negative');

/** Body of POST /api/review-marks. */
export const reviewMarkSchema = z
  .strictObject({
    pair: pairSchema,
    timeframe: timeframeSchema,
    start_time: epochSeconds,
    end_time: epochSeconds,
    fingerprint: z.string().min(1, 'must not be empty').max(200, 'must be at most 200 characters'),
    action: z.enum(['accept', 'dismiss', 'edit'], 'must be one of accept, dismiss, edit'),
    annotation_id: z.string().min(1).max(100).nullable().default(null),
    model_version: z.string().max(200, 'must be at most 200 characters'),
  })
  .refine((v) => v.start_time <= v.end_time, { message: 'must not be after end_time', path: ['start_time'] });
