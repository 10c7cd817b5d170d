/**
 * npm run bench:kafka-clients [-- --quick]: kafkajs against the candidate clients the
 * stress-testing issue names (@platformatic/kafka 1.x, @confluentinc/kafka-javascript),
 * on the same broker, the same messages, each in its own process: bare consume rate and
 * acks=all produce rate, each with the client's CPU per 1,000 messages (on 2 shared cores
 * CPU is what a client costs the ETL and the API). The candidates are installed on demand
 * into stress-testing/kafka-clients (not product dependencies). Writes
 * results/kafka-clients-<date>.json and KAFKA-CLIENTS.md (results.ts).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { startBenchRun } from './context.js';
import { prefill } from './prefill.js';
import { ROOT } from './proc.js';
import { writeResults } from './results.js';

const CLIENTS = ['kafkajs', 'platformatic', 'confluent'] as const;
type ClientName = (typeof CLIENTS)[number];
interface Run {
  client: ClientName;
  mode: 'consume' | 'produce';
  messagesPerSec: number;
  cpuMsPer1k: number;
}

const { values } = parseArgs({
  options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
});
const quick = values.quick;
const outDir = values.out ?? join(ROOT, 'stress-testing');
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
try {
  const topic = `bench-clients-${randomUUID()}`;
  ctx.log(`prefilling ${consumeN} messages`);
  await prefill(ctx.brokers, topic, consumeN);
  const admin = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  for (let round = 1; round <= rounds; round++) {
    for (const client of CLIENTS) {
      runs.push(runClient(['consume', client, ctx.brokers.join(','), topic, String(consumeN)]));
      ctx.log(`  round ${round} consume ${client}: ${fmt(runs[runs.length - 1]!)}`);
      const target = `bench-produce-${client}-${randomUUID()}`;
      await admin.createTopics({ topics: [{ topic: target, numPartitions: 6 }], waitForLeaders: true });
      runs.push(runClient(['produce', client, ctx.brokers.join(','), target, String(produceN), '500', '4']));
      ctx.log(`  round ${round} produce ${client}: ${fmt(runs[runs.length - 1]!)}`);
    }
  }
  await admin.disconnect();
} finally {
  await stop();
}

function runClient(args: string[]): Run {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', join(candidatesDir, 'client-run.ts'), ...args],
    { cwd: ROOT, encoding: 'utf8', timeout: 300_000 },
  );
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`${args.slice(0, 2).join(' ')} failed (${res.status}): ${res.stderr.slice(-2000)}`);
  return JSON.parse(line) as Run;
}

function fmt(r: Run): string {
  return `${r.messagesPerSec.toLocaleString('en')} msg/s, ${r.cpuMsPer1k} CPU ms per 1k`;
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
