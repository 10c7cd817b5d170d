import { z } from 'zod';
import { ContinueWatchingBody, ResumePositionBody } from '../../../lib/contracts/progress.js';

/** Response bodies: documented in the OpenAPI document and checked against real answers. */
export const AcceptedOne = z.strictObject({ event_id: z.uuid() });
export const AcceptedBatch = z.strictObject({ accepted: z.int().min(1), event_ids: z.array(z.uuid()) });
export const LatestPosition = ResumePositionBody;
export const ContinueWatching = ContinueWatchingBody;
export const FieldErrorSchema = z.strictObject({ path: z.string(), code: z.string(), message: z.string() });
export const ErrorBody = z.strictObject({
  error: z.strictObject({
    code: z.string(),
    message: z.string(),
    details: z.union([z.array(FieldErrorSchema), z.null()]),
  }),
});
export const Health = z.strictObject({ status: z.literal('ok') });
export const Readiness = z.strictObject({
  status: z.enum(['ready', 'not_ready']),
  checks: z.record(z.string(), z.enum(['ok', 'unavailable'])),
});
