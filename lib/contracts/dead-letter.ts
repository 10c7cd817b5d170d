import { z } from 'zod';
import { defineStream, field } from './stream.js';

/**
 * The dead-letter topic's contract, declared once: its headers (lib/kafka/dead-letters.ts
 * writes them, `npm run dlq` reads them) and architecture/contracts/dead-letter-v1.md,
 * generated from here. Key and value are the original message's bytes.
 */
export const deadLetterContract = {
  name: 'dead-letter',
  title: 'dead letter',
  version: 1,
  topicOption: 'KAFKA_TOPIC_DLQ',
  key: "the original message's key, byte for byte",
  value: "the original message's value, byte for byte",
  headers: {
    reason: {
      header: 'x-dlq-reason',
      meaning: 'why, e.g. `schema mismatch at position_sec: …` (first 2,000 characters)',
    },
    stage: {
      header: 'x-dlq-stage',
      meaning:
        '`decode`: not a valid contract message; `insert`: ClickHouse rejected the row; `apply`: PostgreSQL refused a valid message for good (the users replica)',
    },
    sourceTopic: { header: 'x-dlq-source-topic', meaning: 'the topic the message was read from' },
    sourcePartition: { header: 'x-dlq-source-partition', meaning: 'its partition (decimal)' },
    sourceOffset: { header: 'x-dlq-source-offset', meaning: 'its offset (decimal)' },
    failedAt: { header: 'x-dlq-failed-at', meaning: 'when it failed (ISO-8601 UTC)' },
  },
  notes: [
    'Written transactionally, together with the consumer offset commit that moves past the letter: read the topic with read-committed isolation (the kafkajs default). A bad message never blocks its partition and is never dropped silently.',
    '`npm run dlq -- list` shows the letters; `npm run dlq -- replay` republishes them to their source topic after a fix (once: the replay cursor is a consumer group).',
  ],
} as const;

type Headers = typeof deadLetterContract.headers;
/** Header names by role. */
export const DLQ_HEADERS = Object.fromEntries(
  Object.entries(deadLetterContract.headers).map(([role, h]) => [role, h.header]),
) as { readonly [K in keyof Headers]: Headers[K]['header'] };

const TIME_COLUMN = "DateTime64(3, 'UTC')";

/** A column of the dead letters' table: its meaning is its comment, for analysts' DESCRIBE too. */
function letterField<Z extends z.ZodType>(schema: Z, type: string, docType: string, meaning: string) {
  return field({ schema, source: 'producer', column: { type, comment: meaning }, docType, meaning });
}

/**
 * The dead letters as ClickHouse rows (`dead_letters`), written by the ETL in the same step
 * as the letters themselves, so "where is my event?" and analysts can query them. Not a
 * Kafka contract of its own: the letter's coordinates in its source topic are the table's
 * `kafka_partition` and `kafka_offset`, its `source_topic` a column.
 */
export const deadLetterRows = defineStream({
  name: 'dead-letter-row',
  title: 'dead letter row',
  version: 1,
  topicOption: deadLetterContract.topicOption,
  key: deadLetterContract.key,
  fields: {
    event_id: letterField(
      z.uuid().nullable(),
      'Nullable(UUID)',
      'UUID or `null`',
      "the value's event_id, when the value is a JSON object carrying a UUID there",
    ),
    viewer_id: {
      ...letterField(
        z.uuid().nullable(),
        'Nullable(UUID)',
        'UUID or `null`',
        "the value's viewer_id when it is a UUID, else the key when it is one",
      ),
      identifiesViewer: true,
    },
    source_topic: letterField(
      z.string(),
      'LowCardinality(String)',
      'string',
      'the topic the message was read from',
    ),
    stage: letterField(
      z.enum(['decode', 'insert', 'apply']),
      'LowCardinality(String)',
      '`decode` · `insert` · `apply`',
      'decode: not a valid contract message; insert: ClickHouse rejected the row',
    ),
    reason: letterField(z.string(), 'String', 'string', 'why (first 2,000 characters)'),
    failed_at: letterField(z.iso.datetime(), TIME_COLUMN, 'ISO-8601 UTC', 'when it failed'),
    message_key: letterField(
      z.string().nullable(),
      'Nullable(String)',
      'string or `null`',
      "the original message's key (UTF-8)",
    ),
    message_value: letterField(
      z.string().nullable(),
      'Nullable(String)',
      'string or `null`',
      "the original message's value (UTF-8)",
    ),
  },
  table: {
    name: 'dead_letters',
    createdBy: 4,
    orderBy: ['source_topic', 'toDate(failed_at)', 'kafka_partition', 'kafka_offset'],
    monthOf: 'failed_at',
    shardBy: 'cityHash64(source_topic, kafka_partition, kafka_offset)',
    viewerAlsoIn: ['message_key', 'message_value'],
    doc: "every dead letter the ETL wrote, with its reason: `kafka_partition` and `kafka_offset` are the message's coordinates in `source_topic`. `GET /api/v1/events/{event_id}/status` reads it; erasure deletes a viewer's rows (by `viewer_id`, or the viewer id anywhere in the key or value).",
  },
});
