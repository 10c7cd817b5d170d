import { parseArgs } from 'node:util';
import { loadConfig } from '../../../lib/config/config.js';
import { createKafka, kafkaClientOptions } from '../../../lib/kafka/client.js';
import { createLogger } from '../../../lib/log.js';
import { readDeadLetters, type StoredLetter } from '../dead-letter-reader.js';

const USAGE = `usage:
  npm run dlq -- list [--json] [--group <id>]
      show dead letters: time, stage, source topic/partition@offset, reason, value
  npm run dlq -- replay
      republish dead letters to their source topic (same key, same bytes) after a fix;
      advances the replay cursor (group <KAFKA_TOPIC_DLQ>-replay) so handled letters are not
      replayed again (a crash mid-replay can repeat the last batch: replayed events are
      deduplicated by the ETL like any retry)`;

function line(l: StoredLetter): string {
  const value = l.value === null ? '<null>' : l.value.toString('utf8').replace(/\s+/g, ' ').slice(0, 160);
  return `${l.failedAt} ${l.stage.padEnd(6)} ${l.sourceTopic}/${l.sourcePartition}@${l.sourceOffset} ${l.reason} | ${value}`;
}

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
  const topic = config.kafkaTopicDlq;

  if (command === 'list') {
    // A fresh group each time: listing never moves any cursor.
    const group = values.group ?? `${topic}-list-${process.pid}-${Date.now()}`;
    const n = await readDeadLetters(kafka, topic, group, (letters) => {
      for (const l of letters) {
        process.stdout.write(
          values.json
            ? `${JSON.stringify({ ...l, key: l.key?.toString('utf8') ?? null, value: l.value?.toString('utf8') ?? null })}\n`
            : `${line(l)}\n`,
        );
      }
      return Promise.resolve();
    });
    process.stderr.write(`${n} dead letter(s) in ${topic}\n`);
    return;
  }

  if (command === 'replay') {
    const producer = kafka.producer({
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    let replayed = 0;
    let skipped = 0;
    try {
      await readDeadLetters(kafka, topic, `${topic}-replay`, async (letters) => {
        const chosen = letters.filter((l) => l.sourceTopic !== '');
        skipped += letters.length - chosen.length; // no source recorded: nothing to replay to
        const byTopic = new Map<string, StoredLetter[]>();
        for (const l of chosen) byTopic.set(l.sourceTopic, [...(byTopic.get(l.sourceTopic) ?? []), l]);
        for (const [source, group] of byTopic) {
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
    process.stderr.write(`replayed ${replayed} dead letter(s), skipped ${skipped}\n`);
    return;
  }
  process.stderr.write(`${USAGE}\n`);
  process.exitCode = 2;
}

main().catch((err: unknown) => {
  process.stderr.write(`dlq: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
