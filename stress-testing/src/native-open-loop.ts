import { writeFileSync } from 'node:fs';
import { nativeBinary, startNative } from './native-build.js';
import { summarise, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';

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
  return summariseAnswers(
    spec,
    await startNative(nativeBinary('open-loop'), args, Buffer.concat(records)).output,
  );
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
