// `node test/run-parallel.mjs <npm script> ...`: the checks that need nothing but the source
// (types, lint, format, unit tests) run at the same time instead of one after another; each
// one's output is shown whole once all are done, failures last. Exits non-zero when any
// failed, after all of them finished, so one run names every failure.
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import process from 'node:process';

const scripts = process.argv.slice(2);

function run(script) {
  const started = Date.now();
  const child = spawn('npm', ['run', '-s', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  const out = [];
  child.stdout.on('data', (d) => out.push(d));
  child.stderr.on('data', (d) => out.push(d));
  return new Promise((resolve) =>
    child.on('close', (code, signal) =>
      resolve({
        script,
        code: code ?? (signal ? 1 : 0),
        out: Buffer.concat(out),
        seconds: (Date.now() - started) / 1000,
      }),
    ),
  );
}

const results = await Promise.all(scripts.map(run));
// Failures last, where the end of the log shows them.
for (const r of results.sort((a, b) => Number(a.code !== 0) - Number(b.code !== 0))) {
  process.stdout.write(
    `\n---- npm run ${r.script}: ${r.code === 0 ? 'passed' : `FAILED (exit ${r.code})`} in ${r.seconds.toFixed(0)} s ----\n`,
  );
  process.stdout.write(r.out);
}
const failed = results.filter((r) => r.code !== 0).map((r) => r.script);
if (failed.length > 0) process.stdout.write(`\nfailed: ${failed.join(', ')}\n`);
process.exit(failed.length === 0 ? 0 : 1);
