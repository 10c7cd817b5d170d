import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { loadConfig } from '../lib/config/config.js';
import { UserChange, USER_CHANGE_SCHEMA_VERSION } from '../lib/contracts/user-change.js';
import { createKafka, kafkaClientOptions, producerConfig } from '../lib/kafka/client.js';
import { createLogger } from '../lib/log.js';

const USAGE = `usage:
  npm run users -- publish --op created|updated|deleted [--user <uuid>] [--version <n>]
      publish one change to the users topic (KAFKA_TOPIC_USERS), as the users service would;
      --user defaults to a new UUID, --version to the current time in ms`;

/** Dev tool: feeds the users topic, which the API's users replica applies to PostgreSQL. */
async function main(): Promise<void> {
  const { positionals, values } = parseArgs({
    allowPositionals: true,
    options: {
      op: { type: 'string' },
      user: { type: 'string' },
      version: { type: 'string' },
    },
  });
  if (positionals[0] !== 'publish') throw new Error(USAGE);
  const change = UserChange.parse({
    schema_version: USER_CHANGE_SCHEMA_VERSION,
    user_id: values.user ?? randomUUID(),
    version: values.version === undefined ? Date.now() : Number(values.version),
    op: values.op,
    occurred_at: new Date().toISOString(),
  });
  const config = loadConfig();
  const kafka = createKafka(
    kafkaClientOptions(config, 'users-cli'),
    createLogger({ level: 'warn', pretty: false, name: 'users' }, process.stderr),
  );
  const producer = kafka.producer(producerConfig({ idempotent: true, allowAutoTopicCreation: false }));
  await producer.connect();
  try {
    await producer.send({
      topic: config.topics.users,
      acks: -1,
      messages: [{ key: change.user_id, value: JSON.stringify(change) }],
    });
  } finally {
    await producer.disconnect();
  }
  process.stdout.write(`${JSON.stringify(change)}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`users: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
