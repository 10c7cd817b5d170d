/**
 * npm run bench:kafka-clients [-- --quick]: kafkajs against the candidate clients the
 * stress-testing issue names (@platformatic/kafka 1.x, @confluentinc/kafka-javascript),
 * on the same broker, the same messages, each in its own process: bare consume rate and
 * acks=all produce rate, each with the client's CPU per 1,000 messages (on 2 shared cores
 * CPU is what a client costs the ETL and the API). The candidates are installed on demand
 * into stress-testing/kafka-clients (not product dependencies). Writes
 * results/kafka-clients-<date>.json and KAFKA-CLIENTS.md (results.ts).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { benchArgs, startBenchRun } from './context.js';
import { prefill } from './prefill.js';
import { ROOT, runTsJson } from './proc.js';
import { writeResults } from './results.js';

const CLIENTS = ['kafkajs', 'platformatic', 'confluent'] as const;
type ClientName = (typeof CLIENTS)[number];
interface Run {
  client: ClientName;
  mode: 'consume' | 'produce';
  messagesPerSec: number;
  cpuMsPer1k: number;
}

const { quick, outDir } = benchArgs();
const candidatesDir = resolve(ROOT, 'stress-testing/kafka-clients');
if (!existsSync(join(candidatesDir, 'node_modules'))) {
  process.stderr.write('installing the candidate clients into stress-testing/kafka-clients\n');
  // CKJS_LINKING=dynamic links Debian's librdkafka where the package builds from source.
  execFileSync('npm', ['ci', '--no-audit', '--no-fund'], {
    cwd: candidatesDir,
    stdio: 'inherit',
    env: { ...process.env, CKJS_LINKING: 'dynamic' },
  });
}

const consumeN = quick ? 20_000 : 500_000;
const produceN = quick ? 10_000 : 300_000;
const rounds = quick ? 1 : 2;
const { ctx, stop } = await startBenchRun('kafka-clients', quick);
const runs: Run[] = [];
const run = (round: number, args: string[]) => {
  const r = runTsJson<Run>('stress-testing/kafka-clients/client-run.ts', args);
  ctx.log(`  round ${round} ${r.mode} ${r.client}: ${r.messagesPerSec} msg/s, ${r.cpuMsPer1k} CPU ms per 1k`);
  runs.push(r);
};
try {
  const topic = `bench-clients-${randomUUID()}`;
  ctx.log(`prefilling ${consumeN} messages`);
  await prefill(ctx.brokers, topic, consumeN);
  const admin = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const brokers = ctx.brokers.join(',');
  for (let round = 1; round <= rounds; round++) {
    for (const client of CLIENTS) {
      run(round, ['consume', client, brokers, topic, String(consumeN)]);
      const target = `bench-produce-${client}-${randomUUID()}`;
      await admin.createTopics({ topics: [{ topic: target, numPartitions: 6 }], waitForLeaders: true });
      run(round, ['produce', client, brokers, target, String(produceN), '500', '4']);
    }
  }
  await admin.disconnect();
} finally {
  await stop();
}

// Best round per client and mode: the machine is shared, the best is the least disturbed.
const best = (client: ClientName, mode: Run['mode']) =>
  runs
    .filter((r) => r.client === client && r.mode === mode)
    .sort((a, b) => b.messagesPerSec - a.messagesPerSec)[0]!;
const table = CLIENTS.map((client) => ({
  client,
  consume: best(client, 'consume'),
  produce: best(client, 'produce'),
}));
const results = {
  date: new Date().toISOString(),
  quick,
  consumeMessages: consumeN,
  produceMessages: produceN,
  rounds,
  runs,
  best: table,
};
writeResults(outDir, 'kafka-clients', results);
process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
