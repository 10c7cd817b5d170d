import { execFileSync, spawn } from 'node:child_process';
import { mkdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { summarise, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';
import { ROOT } from './proc.js';

const SOURCE = join(ROOT, 'stress-testing/native/open-loop.c');
const BINARY = join(ROOT, 'node_modules/.cache/stress-testing/open-loop');

/** Builds the generator with the machine's gcc when the binary is missing or older than its source. */
export function nativeGenerator(): string {
  const built = statSync(BINARY, { throwIfNoEntry: false });
  if (built === undefined || built.mtimeMs < statSync(SOURCE).mtimeMs) {
    mkdirSync(join(BINARY, '..'), { recursive: true });
    execFileSync('gcc', ['-O2', '-Wall', '-o', BINARY, SOURCE], { stdio: 'inherit' });
  }
  return BINARY;
}

/**
 * The C open-loop generator (`native/open-loop.c`) with every request built up front:
 * spec.request() is called once per request, in order, as the Node generator would. The
 * generator writes one line per answer; the run is summarised like the Node one.
 * BENCH_OPEN_LOOP_TRACE=<path prefix> also writes every answer (due time, latency,
 * status) as CSV, to see when in a run the slow answers came.
 */
export async function runNativeOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
  const host = target.hostname === 'localhost' ? '127.0.0.1' : target.hostname;
  const total = Math.round(spec.rate * spec.durationSec);
  const records: Buffer[] = [];
  for (let i = 0; i < total; i++) {
    const r = spec.request();
    let head = `GET ${r.path} HTTP/1.1\r\nHost: ${target.host}\r\n`;
    for (const [k, v] of Object.entries(r.headers)) head += `${k}: ${v}\r\n`;
    const bytes = Buffer.from(`${head}\r\n`);
    records.push(Buffer.from(`${bytes.length}\n`), bytes);
  }
  // Through a pipe, not a file: a file's writeback would run during the measurement.
  const args = [
    host,
    target.port,
    String(spec.rate),
    String(spec.durationSec),
    String(spec.maxConnections),
    '-',
  ];
  return summariseAnswers(spec, await run(nativeGenerator(), args, Buffer.concat(records)));
}

/** The generator's lines, one per answer and a last summary line, as a result. */
function summariseAnswers(spec: OpenLoopSpec, stdout: string): OpenLoopResult {
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let non2xx = 0;
  let errors = 0;
  let sent = 0;
  let elapsedSec = Number.NaN;
  let cpuUs = 0;
  const trace: string[] = ['due_ms,latency_ms,status,send_lag_ms'];
  for (const line of stdout.split('\n')) {
    if (line === '') continue;
    const [a, b, c, d] = line.split(' ');
    if (a === 'done') {
      sent = Number(b);
      elapsedSec = Number(c) / 1e6;
      cpuUs = Number(d);
      continue;
    }
    const status = Number(a);
    trace.push(`${Number(c) / 1000},${Number(b) / 1000},${status},${Number(d) / 1000}`);
    sendLags.push(Number(d) / 1000);
    if (status === 0) {
      errors++;
      continue;
    }
    if (status < 200 || status >= 300) non2xx++;
    latencies.push(Number(b) / 1000);
  }
  if (!Number.isFinite(elapsedSec)) throw new Error('the open-loop generator ended without its summary');
  const tracePrefix = process.env.BENCH_OPEN_LOOP_TRACE;
  if (tracePrefix !== undefined && tracePrefix !== '') {
    writeFileSync(`${tracePrefix}-${spec.rate}rps-${Date.now()}.csv`, `${trace.join('\n')}\n`);
  }
  return summarise(spec, { sent, latencies, sendLags, non2xx, errors, elapsedSec, cpuUs }, 'native');
}

/** Runs the generator with `input` on its stdin; its stdout, or why it failed. */
function run(binary: string, args: string[], input: Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(binary, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
      else
        reject(
          new Error(`open-loop generator failed (${code ?? signal}): ${Buffer.concat(err).toString('utf8')}`),
        );
    });
    child.stdin.end(input);
  });
}
