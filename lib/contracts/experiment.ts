import { z } from 'zod';
import { SEGMENT_SLUG } from './segment.js';

/**
 * A/B experiments: admin requests, the device-facing answer and stats. One source of truth
 * for validation, types and the OpenAPI document. The exposure stream is in exposure.ts.
 */
export const EXPERIMENT_KEY = /^[a-z][a-z0-9_]{0,63}$/;
/** Opaque id the app generates once per install: URL-safe, long enough to be unguessable. */
export const DEVICE_TOKEN = /^[A-Za-z0-9._~-]{8,128}$/;
export const MAX_OPTIONS = 20;

/** Text stored in PostgreSQL, which cannot hold the NUL character in text or jsonb. */
const PgText = z
  .string()
  .refine((s) => !s.includes('\u0000'), { message: 'must not contain the NUL character (U+0000)' });

export const OptionValue = z.union([PgText.max(256), z.number(), z.boolean()]);
export type OptionValue = z.output<typeof OptionValue>;

const Weight = z.number().positive({ message: 'must be a positive number' }).max(1e6);

const SegmentList = z
  .array(z.string().regex(SEGMENT_SLUG, { message: 'must be a segment slug' }))
  .max(50)
  .default([]);

/** Who may enter: viewers in any `include` segment (when listed) and in no `exclude` one. */
export const SegmentTargeting = z
  .strictObject({ include: SegmentList, exclude: SegmentList })
  .superRefine((t, ctx) => {
    t.exclude.forEach((slug, i) => {
      if (t.include.includes(slug))
        ctx.addIssue({ code: 'custom', path: ['exclude', i], message: 'both included and excluded' });
    });
  });
export type SegmentTargeting = z.output<typeof SegmentTargeting>;

export const CreateExperiment = z.strictObject({
  key: z.string().regex(EXPERIMENT_KEY, {
    message: 'must be lower-case letters, digits and _, starting with a letter (≤ 64)',
  }),
  description: PgText.max(500).optional(),
  segments: SegmentTargeting.optional(),
  options: z
    .array(z.strictObject({ value: OptionValue, weight: Weight }))
    .min(2, { message: 'needs at least 2 options' })
    .max(MAX_OPTIONS)
    .superRefine((options, ctx) => {
      const seen = new Set<string>();
      options.forEach((o, i) => {
        const k = JSON.stringify(o.value);
        if (seen.has(k))
          ctx.addIssue({ code: 'custom', path: [i, 'value'], message: 'duplicate option value' });
        seen.add(k);
      });
    }),
});
export type CreateExperiment = z.output<typeof CreateExperiment>;

/** New weights, one per option in order. Existing assignments keep their value. */
export const UpdateWeights = z.strictObject({ weights: z.array(Weight).min(2).max(MAX_OPTIONS) });

export const DeviceToken = z
  .string({ message: 'Device-Token header is required' })
  .regex(DEVICE_TOKEN, { message: 'Device-Token must be 8–128 characters of A–Z a–z 0–9 . _ ~ -' });

export const ExperimentOption = z.strictObject({ value: OptionValue, weight: z.number(), share: z.number() });
export const Experiment = z.strictObject({
  key: z.string(),
  description: z.string(),
  status: z.enum(['running', 'stopped']),
  created_at: z.iso.datetime(),
  stopped_at: z.iso.datetime().nullable(),
  options: z.array(ExperimentOption),
  segments: z.strictObject({ include: z.array(z.string()), exclude: z.array(z.string()) }),
});
export type Experiment = z.output<typeof Experiment>;
export const ExperimentList = z.strictObject({ experiments: z.array(Experiment) });

/** The spec's answer: one single-key object per experiment, e.g. [{"price": 10}]. */
export const DeviceExperiments = z.array(z.record(z.string(), OptionValue));

export const OptionStats = z.strictObject({
  index: z.int(),
  value: OptionValue,
  devices: z.int(),
  share: z.number(),
  target_share: z.number(),
  completion: z
    .strictObject({
      viewers: z.int(),
      mean: z.number().nullable(),
      ci95_low: z.number().nullable(),
      ci95_high: z.number().nullable(),
    })
    .nullable(),
});
export const ExperimentStats = z.strictObject({
  key: z.string(),
  status: z.enum(['running', 'stopped']),
  created_at: z.iso.datetime(),
  total_devices: z.int(),
  srm: z.strictObject({ chi_square: z.number(), p_value: z.number(), mismatch: z.boolean() }),
  options: z.array(OptionStats),
});
export type ExperimentStats = z.output<typeof ExperimentStats>;
export const StatsReport = z.strictObject({
  generated_at: z.iso.datetime(),
  srm_threshold: z.number(),
  completion_available: z.boolean(),
  experiments: z.array(ExperimentStats),
});
export type StatsReport = z.output<typeof StatsReport>;
