// The integration tier in shards: INTEGRATION_SHARDS mocha processes (default 2), each with
// its own broker and embedded engine (test/helpers/global-setup.ts), the files dealt out so
// the shards take about as long. Most of a test's time is waiting on brokers, restarts and
// timeouts, not CPU, so two shards share two cores without slowing each other much; the
// few files that need the machine to themselves run alone afterwards (SOLO).
// Arguments are passed to every shard's mocha (e.g. --grep).
import { spawn } from 'node:child_process';
import { openSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import process from 'node:process';

const ROOT = join(import.meta.dirname, '..');
const DIR = 'test/integration';
const config = JSON.parse(readFileSync(join(ROOT, '.mocharc.integration.json'), 'utf8'));
const shards = Math.max(1, Number(process.env.INTEGRATION_SHARDS ?? 2));

/** Seconds a file took in a full run on the CI machine; files not named here count as 10. */
const WEIGHT = {
  'bench-smoke.test.ts': 210,
  'etl-fault-points.test.ts': 100,
  'exactly-once.test.ts': 90,
  'crash-restart.test.ts': 70,
  'kafka-acks-all.test.ts': 60,
  'web-sdk-browser.test.ts': 40,
  'etl-crash.test.ts': 40,
  'clickhouse-server.test.ts': 40,
  'kafka-outage.test.ts': 35,
  'kafka-security.test.ts': 35,
  'start-command.test.ts': 30,
  'prometheus-alerting.test.ts': 30,
  'segment-history.test.ts': 30,
  'apm.test.ts': 25,
  'sql-interface.test.ts': 25,
  'produce-transports.test.ts': 20,
  'beacon-and-compression.test.ts': 20,
};

/**
 * Files that run alone once the shards are done: the benchmark smoke run keeps both cores
 * busy, and the crash-restart test measures how fast `npm start` comes back.
 */
const SOLO = ['bench-smoke.test.ts', 'crash-restart.test.ts'];

const files = readdirSync(join(ROOT, DIR))
  .filter((f) => f.endsWith('.test.ts') && !SOLO.includes(f))
  .sort((a, b) => (WEIGHT[b] ?? 10) - (WEIGHT[a] ?? 10) || a.localeCompare(b));
const groups = Array.from({ length: shards }, () => ({ files: [], weight: 0 }));
for (const f of files) {
  const lightest = groups.reduce((a, b) => (b.weight < a.weight ? b : a));
  lightest.files.push(join(DIR, f));
  lightest.weight += WEIGHT[f] ?? 10;
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
  '--reporter',
  'test/helpers/file-timing-reporter.cjs',
  ...process.argv.slice(2),
];

/** The first shard writes to the terminal as it goes; the others to a file shown when done. */
function run(group, i) {
  const log =
    i === 0 || i === shards ? undefined : join(tmpdir(), `integration-shard-${process.pid}-${i}.log`);
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

const results = await Promise.all(groups.map(run));
const solo = SOLO.filter((f) => readdirSync(join(ROOT, DIR)).includes(f)).map((f) => join(DIR, f));
if (solo.length > 0) {
  process.stdout.write(`\n---- integration, alone: ${solo.join(', ')} ----\n`);
  results.push({ ...(await run({ files: solo }, shards)), log: undefined });
}
let failed = 0;
for (const r of results) {
  if (r.log !== undefined) {
    process.stdout.write(`\n---- integration shard ${r.i + 1} of ${shards} ----\n`);
    process.stdout.write(readFileSync(r.log, 'utf8'));
  }
  if (r.code !== 0) failed++;
}
// The last screen of the run: seconds per file (to keep WEIGHT true), then every failure.
const seconds = results.flatMap((r) =>
  Object.entries(r.summary.files).map(([f, s]) => [f, s, r.i < shards ? `shard ${r.i + 1}` : 'alone']),
);
process.stdout.write('\nintegration seconds per file:\n');
for (const [f, s, where] of seconds.sort((a, b) => b[1] - a[1]))
  process.stdout.write(`  ${s.toFixed(0).padStart(5)} s  ${where.padEnd(7)}  ${f}\n`);
for (const r of results.filter((r) => r.code !== 0)) {
  const where = r.i < shards ? `shard ${r.i + 1}` : 'the files run alone';
  process.stdout.write(`\nFAILED in ${where} (exit ${r.code}):\n`);
  if (r.summary.failures.length === 0)
    process.stdout.write('  (no test failed: the run itself died; see its output above)\n');
  for (const f of r.summary.failures)
    process.stdout.write(`  ${f.file}: ${f.title}\n    ${f.message.replaceAll('\n', '\n    ')}\n`);
}
process.stdout.write(
  `\nintegration: ${shards} shard(s) of ${files.length} files, then ${solo.length} alone; ${failed === 0 ? 'all passed' : `${failed} run(s) failed`}\n`,
);
process.exit(failed === 0 ? 0 : 1);
