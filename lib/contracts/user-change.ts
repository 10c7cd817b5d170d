import { z } from 'zod';

/**
 * A change to a user, as the users service publishes it on the users topic (contract v1,
 * architecture/contracts/user-change-v1.md). Key: the user id, so one user's changes stay
 * in order on one partition; the version makes order and replays harmless anyway.
 */
export const USER_CHANGE_SCHEMA_VERSION = 1;

export const UserChange = z.object({
  schema_version: z.literal(USER_CHANGE_SCHEMA_VERSION),
  user_id: z.uuid({ message: 'must be a UUID' }).transform((v) => v.toLowerCase()),
  /** Monotonic per user: the source's row version or its change timestamp in ms. */
  version: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
  op: z.enum(['created', 'updated', 'deleted']),
  occurred_at: z.iso.datetime({ offset: true }).optional(),
});
export type UserChange = z.output<typeof UserChange>;
