/**
 * npm run bench:profile-etl [-- <rows>]: one ETL process drains a pre-filled topic under
 * `node --cpu-prof`; prints the functions with the most self time. "Profile before
 * optimising": this is where the ETL's time goes.
 */
import { spawn } from 'node:child_process';
import { mkdirSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { sleep } from '../../lib/retry.js';
import { startBenchRun } from './bench-broker.js';
import { topSelfTime } from './cpuprofile-top.js';
import { prefill } from './prefill.js';
import { ROOT } from './proc.js';

const rows = Number(process.argv[2] ?? 300_000);
const { ctx, stop } = await startBenchRun('profile-etl', false);
const topic = `prof-${randomUUID()}`;
await prefill(ctx.brokers, topic, rows);
const profDir = join(ctx.workDir, 'cpu');
mkdirSync(profDir);
const etl = spawn(
  process.execPath,
  ['--cpu-prof', `--cpu-prof-dir=${profDir}`, '--import', 'tsx', resolve(ROOT, 'cli/etl.ts')],
  {
    cwd: ROOT,
    stdio: 'ignore',
    env: {
      ...process.env,
      KAFKA_BROKERS: ctx.brokers.join(','),
      KAFKA_TOPIC_PROGRESS: topic,
      KAFKA_TOPIC_EVENTS: `${topic}-events`,
      KAFKA_TOPIC_DLQ: `${topic}-dlq`,
      ETL_GROUP_ID: `${topic}-etl`,
      ETL_EVENTS_GROUP_ID: `${topic}-etl-events`,
      ETL_METRICS_PORT: '0',
      CLICKHOUSE_DATA_DIR: join(ctx.workDir, 'chdb'),
      LOG_LEVEL: 'warn',
    },
  },
);
const admin = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
await admin.connect();
const started = performance.now();
for (;;) {
  const [res] = await admin
    .fetchOffsets({ groupId: `${topic}-etl`, topics: [topic] })
    .catch(() => [undefined]);
  const done = (res?.partitions ?? []).reduce((s, p) => s + Math.max(0, Number(p.offset)), 0);
  if (done >= rows) break;
  await sleep(200);
}
process.stderr.write(
  `drained ${rows} rows in ${((performance.now() - started) / 1000).toFixed(1)} s (incl. startup)\n`,
);
await admin.disconnect();
const exited = new Promise((r) => etl.once('exit', r));
etl.kill('SIGTERM');
await exited;
const file = readdirSync(profDir).find((f) => f.endsWith('.cpuprofile'));
if (file === undefined) throw new Error('no profile written');
process.stdout.write(`profile: ${join(profDir, file)} (kept with KEEP_BENCH_DATA=1)\n`);
for (const { share, fn } of topSelfTime(join(profDir, file)))
  process.stdout.write(`${share.toFixed(1).padStart(5)}%  ${fn}\n`);
await stop();
