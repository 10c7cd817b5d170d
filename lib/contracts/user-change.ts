import { z } from 'zod';
import { defineStream, field, type MessageOf } from './stream.js';

/**
 * A change to a user, as the users service publishes it on the users topic (contract v1,
 * architecture/contracts/user-change-v1.md, generated from here). Key: the user id, so one
 * user's changes stay in order on one partition; the version makes order and replays
 * harmless anyway.
 */
export const userChangeStream = defineStream({
  name: 'user-change',
  title: 'user change (users topic)',
  version: 1,
  topicOption: 'KAFKA_TOPIC_USERS',
  key: "the user id (UTF-8), so one user's changes stay in order on one partition",
  // A producer may add fields without breaking us.
  strict: false,
  fields: {
    user_id: field({
      schema: z.uuid({ message: 'must be a UUID' }).transform((v) => v.toLowerCase()),
      source: 'producer',
      docType: 'UUID',
      meaning: 'the user (stored lower-case)',
    }),
    version: field({
      schema: z.int().min(0).max(Number.MAX_SAFE_INTEGER),
      source: 'producer',
      docType: 'integer ≥ 0',
      meaning: "monotonic per user: the source's row version or its change time in ms",
    }),
    op: field({
      schema: z.enum(['created', 'updated', 'deleted']),
      source: 'producer',
      docType: '`created` · `updated` · `deleted`',
      meaning: 'what happened',
    }),
    occurred_at: field({
      schema: z.iso.datetime({ offset: true }).optional(),
      source: 'producer',
      docType: 'ISO-8601, optional',
      meaning: 'for humans and logs; ordering uses `version` only',
    }),
  },
  notes: [
    "Published by the users service (not by this platform); consumed by the API's users replica (group `USERS_REPLICA_GROUP_ID`), which keeps PostgreSQL's `users` table current for segments.",
    '## Semantics on the consumer side',
    '- A change whose `version` is not greater than the stored one changes nothing: replays, duplicates and out-of-order delivery are harmless.\n' +
      "- `deleted` leaves a tombstone (the version stays), so an older `created` replayed later cannot bring the user back; the user's memberships end and each is recorded in the segment history (`user_deleted`). A newer `created` or `updated` brings the user back.\n" +
      '- A user that appears (or comes back) gets every percentage-rollout segment its hash puts it in, unless it opted out (explicit removal).\n' +
      '- A message that is not this contract (not JSON, wrong field) goes to the dead-letter topic with the reason, in the same Kafka transaction as the offset commit past it; `npm run dlq -- list|replay` reads it back. It never blocks the partition.\n' +
      '- PostgreSQL down: the partition waits and retries with backoff (heartbeating); nothing is committed past an unapplied change.',
  ],
  example: {
    schema_version: 1,
    user_id: '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b',
    version: 1732262400000,
    op: 'created',
    occurred_at: '2026-11-22T08:00:00Z',
  },
});

export const USER_CHANGE_SCHEMA_VERSION = userChangeStream.version;
export const UserChange = userChangeStream.message;
export type UserChange = MessageOf<typeof userChangeStream.version, typeof userChangeStream.fields>;
