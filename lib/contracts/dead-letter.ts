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
