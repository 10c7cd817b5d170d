// The integration tier in shards: INTEGRATION_SHARDS mocha processes (default 3), each with
// its own broker and embedded engine (test/helpers/global-setup.ts), the files dealt out so
// the shards take about as long. Most of a test's time is waiting on brokers, restarts,
// timeouts and child processes, not CPU, so the shards share two cores without slowing each
// other much; the file that measures how fast `npm start` comes back waits for the first
// shard to end (SOLO), so it shares the machine with the other shards' last files only. `--with-faults` deals the fault suite (test/faults) out with the rest: `npm test`
// runs everything this way.
// Other arguments are passed to every shard's mocha (e.g. --grep).
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

const ROOT = join(import.meta.dirname, '..');
const DIRS = ['test/integration', ...(process.argv.includes('--with-faults') ? ['test/faults'] : [])];
const config = JSON.parse(readFileSync(join(ROOT, '.mocharc.integration.json'), 'utf8'));
const shards = Math.max(1, Number(process.env.INTEGRATION_SHARDS ?? 3));

/**
 * Seconds a file took in a sharded run on the CI machine (the runner prints them at the end;
 * only their ratios matter); files not named here count as 3.
 */
const WEIGHT = {
  'soak-smoke.test.ts': 155,
  'etl-fault-points.test.ts': 144,
  'api-bench-smoke.test.ts': 129,
  'exactly-once.fault.test.ts': 111,
  'bench-smoke.test.ts': 126,
  'exactly-once.test.ts': 106,
  'kafka-outage.test.ts': 63,
  'start-command.test.ts': 58,
  'kafka-acks-all.test.ts': 58,
  'apm.test.ts': 39,
  'kafka-security.test.ts': 37,
  'sql-interface.test.ts': 31,
  'clickhouse-server.test.ts': 30,
  'web-sdk-browser.test.ts': 28,
  'etl-crash.test.ts': 27,
  'experiments-assignment.test.ts': 20,
  'users-replica.test.ts': 19,
  'beacon-and-compression.test.ts': 19,
  'progress-api.test.ts': 17,
  'stack-config.test.ts': 15,
  'prometheus-alerting.test.ts': 14,
  'erasure.test.ts': 13,
  'continue-watching.test.ts': 12,
  'produce-transports.test.ts': 11,
  'experiments-stats.test.ts': 10,
  'segment-history.test.ts': 10,
  'event-status.test.ts': 9,
  'analytics-aggregates.test.ts': 8,
  'clickhouse-credentials.test.ts': 8,
  'openapi.test.ts': 8,
  'segments.test.ts': 7,
  'pipeline.test.ts': 7,
  'experiments-targeting.test.ts': 7,
  'nginx.test.ts': 7,
  'auth.test.ts': 6,
  'user-events.test.ts': 6,
  'resume-backfill.test.ts': 6,
  'alert-rules.test.ts': 5,
  'experiments-browser.test.ts': 5,
  'resume-retention.test.ts': 5,
};

/** Files that start once the first shard is done: this one measures how fast `npm start` comes back. */
const SOLO = ['crash-restart.test.ts'];

const testFiles = (dir) =>
  readdirSync(join(ROOT, dir))
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => ({ name: f, path: join(dir, f) }));
const all = DIRS.flatMap(testFiles);
const files = all
  .filter((f) => !SOLO.includes(f.name))
  .sort((a, b) => (WEIGHT[b.name] ?? 3) - (WEIGHT[a.name] ?? 3) || a.name.localeCompare(b.name));
const groups = Array.from({ length: shards }, () => ({ files: [], weight: 0 }));
for (const f of files) {
  const lightest = groups.reduce((a, b) => (b.weight < a.weight ? b : a));
  lightest.files.push(f.path);
  lightest.weight += WEIGHT[f.name] ?? 3;
}

for (const [i, g] of groups.entries())
  process.stdout.write(
    `integration shard ${i + 1} of ${shards}: ${g.files.length} files, about ${g.weight} s\n`,
  );

const mochaArgs = [
  '--no-config',
  ...config['node-option'].flatMap((o) => ['--node-option', o]),
  ...config.require.flatMap((r) => ['--require', r]),
  '--timeout',
  String(config.timeout),
  '--forbid-only',
  '--forbid-pending',
  // Once the run (hooks and global teardown included) is over: a child process a failed
  // test left behind must not hold the shard open until CI's own time limit.
  '--exit',
  '--reporter',
  'test/helpers/file-timing-reporter.cjs',
  ...process.argv.slice(2).filter((a) => a !== '--with-faults'),
];

/** The first shard writes to the terminal as it goes; the others to a file shown when done. */
function run(group, i) {
  const log = i === 0 ? undefined : join(tmpdir(), `integration-shard-${process.pid}-${i}.log`);
  const summary = join(tmpdir(), `integration-summary-${process.pid}-${i}.json`);
  const out = log === undefined ? 'inherit' : openSync(log, 'w');
  const child = spawn('npx', ['mocha', ...mochaArgs, ...group.files], {
    cwd: ROOT,
    stdio: ['ignore', out, out],
    env: { ...process.env, MOCHA_SUMMARY_FILE: summary },
  });
  return new Promise((resolve) =>
    child.on('exit', (code, signal) =>
      resolve({ i, code: code ?? (signal ? 1 : 0), log, summary: readSummary(summary) }),
    ),
  );
}

/** What the reporter wrote; a shard that died before the end of its run wrote nothing. */
function readSummary(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    return { files: {}, failures: [] };
  }
}

const shardRuns = groups.map(run);
const solo = all.filter((f) => SOLO.includes(f.name)).map((f) => f.path);
const soloRun =
  solo.length > 0 ? Promise.race(shardRuns).then(() => run({ files: solo }, shards)) : undefined;
const results = await Promise.all(shardRuns);
if (soloRun !== undefined) results.push(await soloRun);
let failed = 0;
for (const r of results) {
  if (r.log !== undefined) {
    const title =
      r.i < shards
        ? `integration shard ${r.i + 1} of ${shards}`
        : `integration, after the first shard: ${solo.join(', ')}`;
    process.stdout.write(`\n---- ${title} ----\n`);
    process.stdout.write(readFileSync(r.log, 'utf8'));
  }
  if (r.code !== 0) failed++;
}
// The last screen of the run: seconds per file (to keep WEIGHT true), then every failure.
const seconds = results.flatMap((r) =>
  Object.entries(r.summary.files).map(([f, s]) => [f, s, r.i < shards ? `shard ${r.i + 1}` : 'last']),
);
process.stdout.write('\nintegration seconds per file:\n');
for (const [f, s, where] of seconds.sort((a, b) => b[1] - a[1]))
  process.stdout.write(`  ${s.toFixed(0).padStart(5)} s  ${where.padEnd(7)}  ${f}\n`);
for (const r of results.filter((r) => r.code !== 0)) {
  const where = r.i < shards ? `shard ${r.i + 1}` : 'the files run last';
  process.stdout.write(`\nFAILED in ${where} (exit ${r.code}):\n`);
  if (r.summary.failures.length === 0)
    process.stdout.write('  (no test failed: the run itself died; see its output above)\n');
  for (const f of r.summary.failures)
    process.stdout.write(`  ${f.file}: ${f.title}\n    ${f.message.replaceAll('\n', '\n    ')}\n`);
}
process.stdout.write(
  `\nintegration: ${shards} shard(s) of ${files.length} files, then ${solo.length} after the first shard; ${failed === 0 ? 'all passed' : `${failed} run(s) failed`}\n`,
);
process.exit(failed === 0 ? 0 : 1);
