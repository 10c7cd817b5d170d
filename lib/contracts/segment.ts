import { z } from 'zod';
import { queryInt } from './query-int.js';
import { hasSubMillisecond } from './time.js';

/** Segments: admin and user-facing requests and answers (validation, types, OpenAPI). */
export const SEGMENT_SLUG = /^[A-Z][A-Z0-9_]{1,63}$/;
export const MAX_CHANGES = 100;

const Slug = z
  .string()
  .regex(SEGMENT_SLUG, { message: 'must be 2–64 upper-case letters, digits and _, starting with a letter' });

export const CreateSegment = z.strictObject({
  slug: Slug,
  percent: z
    .number()
    .min(0, { message: 'must be between 0 and 100' })
    .max(100, { message: 'must be between 0 and 100' })
    // Kept as numeric(5, 2): a finer share would be rounded, 0.001 to none at all.
    .refine((p) => Math.round(p * 100) / 100 === p, { message: 'must have at most 2 decimal places' })
    .optional(),
});
export type CreateSegment = z.output<typeof CreateSegment>;

export function createSegmentChangeSchema(now: () => number = Date.now) {
  const addItem = z.union([
    Slug,
    z
      .strictObject({
        slug: Slug,
        expires_at: z.iso
          .datetime({ offset: true, message: 'must be an ISO-8601 date-time' })
          // Kept to the millisecond: finer digits would be cut, so they are refused.
          .refine((v) => !hasSubMillisecond(v), { message: 'must not be more precise than a millisecond' })
          .refine((v) => Date.parse(v) > now(), { message: 'must be in the future' })
          .optional(),
        ttl_seconds: z
          .int()
          .min(1)
          .max(10 * 365 * 24 * 3600)
          .optional(),
      })
      .refine((v) => v.expires_at === undefined || v.ttl_seconds === undefined, {
        message: 'give expires_at or ttl_seconds, not both',
      }),
  ]);
  return z
    .strictObject({
      add: z.array(addItem).max(MAX_CHANGES).default([]),
      remove: z.array(Slug).max(MAX_CHANGES).default([]),
    })
    .superRefine((v, ctx) => {
      if (v.add.length === 0 && v.remove.length === 0) {
        ctx.addIssue({ code: 'custom', message: 'add or remove at least one segment' });
      }
      const added = v.add.map((a) => (typeof a === 'string' ? a : a.slug));
      const seen = new Set<string>();
      added.forEach((slug, i) => {
        if (seen.has(slug)) ctx.addIssue({ code: 'custom', path: ['add', i], message: 'listed twice' });
        seen.add(slug);
      });
      v.remove.forEach((slug, i) => {
        if (seen.has(slug))
          ctx.addIssue({ code: 'custom', path: ['remove', i], message: 'both added and removed' });
      });
    });
}
export type SegmentChange = z.output<ReturnType<typeof createSegmentChangeSchema>>;

export const Segment = z.strictObject({
  slug: z.string(),
  percent: z.number().nullable(),
  created_at: z.iso.datetime(),
  members: z.int(),
});
export const SegmentList = z.strictObject({ segments: z.array(Segment) });
export const UserSegments = z.strictObject({
  user_id: z.uuid(),
  segments: z.array(
    z.strictObject({
      slug: z.string(),
      source: z.enum(['manual', 'rollout']),
      added_at: z.iso.datetime(),
      expires_at: z.iso.datetime().nullable(),
    }),
  ),
});
export type UserSegments = z.output<typeof UserSegments>;

/** A calendar month, `YYYY-MM`, for the history report. */
export function createHistoryPeriodSchema(now: () => number = Date.now) {
  return z
    .string()
    .regex(/^(19[7-9]\d|2\d{3})-(0[1-9]|1[0-2])$/, { message: 'must be a month, YYYY-MM (e.g. 2026-11)' })
    .refine((p) => p <= new Date(now()).toISOString().slice(0, 7), { message: 'must not be a future month' });
}

export const HistoryLink = z.strictObject({
  // Absolute with PUBLIC_BASE_URL; root-relative without (never the request's Host).
  url: z.union([z.url(), z.string().regex(/^\/api\/v1\/segments\/history\/download\?/)]),
  expires_at: z.iso.datetime(),
});

export const HistoryDownloadQuery = z.object({
  period: z.string().regex(/^\d{4}-\d{2}$/, { message: 'must be YYYY-MM' }),
  expires: queryInt(1, Number.MAX_SAFE_INTEGER),
  signature: z.string().min(1).max(128),
});
