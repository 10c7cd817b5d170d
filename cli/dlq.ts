import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config/config.js';
import { createKafka, kafkaClientOptions, producerConfig } from '../lib/kafka/client.js';
import { createLogger } from '../lib/log.js';
import { escapeControl, letterLine } from '../etl/src/dead-letter-format.js';
import { readDeadLetters } from '../etl/src/dead-letter-reader.js';
import { planReplay } from '../etl/src/dead-letter-replay.js';

const USAGE = `usage:
  npm run dlq -- list [--json] [--group <id>]
      show dead letters: time, stage, source topic/partition@offset, reason, value
  npm run dlq -- replay
      republish dead letters to their source topic (same key, same bytes) after a fix;
      only to the topics the ETL consumes (KAFKA_TOPIC_PROGRESS, _EVENTS, _EXPOSURES): a
      letter naming any other topic (the users topic too: the users service owns it) is
      counted as refused and not published;
      advances the replay cursor (group <KAFKA_TOPIC_DLQ>-replay) so handled letters are not
      replayed again (a crash mid-replay can repeat the last batch: replayed events are
      deduplicated by the ETL like any retry)`;

async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      json: { type: 'boolean', default: false },
      group: { type: 'string' },
    },
  });
  const command = positionals[0];
  const config = loadConfig();
  const log = createLogger({ level: 'warn', pretty: false, name: 'dlq' });
  const kafka = createKafka(kafkaClientOptions(config, 'dlq'), log);
  const topic = config.topics.deadLetters;

  if (command === 'list') {
    // A fresh group each time: listing never moves any cursor.
    const group = values.group ?? `${topic}-list-${process.pid}-${Date.now()}`;
    const n = await readDeadLetters(kafka, topic, group, (letters) => {
      for (const l of letters) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ ...l, key: l.key?.toString('utf8') ?? null, value: l.value?.toString('utf8') ?? null })}\n`
            : `${letterLine(l)}\n`,
        );
      }
      return Promise.resolve();
    });
    process.stderr.write(`${n} dead letter(s) in ${topic}\n`);
    return;
  }

  if (command === 'replay') {
    const producer = kafka.producer(
      producerConfig({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: false }),
    );
    await producer.connect();
    const allowed = new Set([config.topics.progress, config.topics.events, config.topics.exposures]);
    let replayed = 0;
    let skipped = 0;
    const refused = new Map<string, number>();
    try {
      await readDeadLetters(kafka, topic, `${topic}-replay`, async (letters) => {
        const plan = planReplay(letters, allowed);
        skipped += plan.noSource;
        for (const [t, n] of plan.refused) refused.set(t, (refused.get(t) ?? 0) + n);
        for (const [source, group] of plan.byTopic) {
          await producer.send({
            topic: source,
            acks: -1,
            messages: group.map((l) => ({ key: l.key, value: l.value })),
          });
          replayed += group.length;
        }
      });
    } finally {
      await producer.disconnect();
    }
    const refusedCount = [...refused.values()].reduce((a, b) => a + b, 0);
    process.stderr.write(
      `replayed ${replayed} dead letter(s), skipped ${skipped} (no source topic), refused ${refusedCount}\n`,
    );
    for (const [t, n] of refused)
      process.stderr.write(
        `  refused ${n} naming topic "${escapeControl(t)}" (not a source topic of the ETL)\n`,
      );
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`dlq: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
