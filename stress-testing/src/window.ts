/**
 * One measured window of open-loop load, seen from three sides at once: the generator's
 * latencies, the API's own /metrics and the machine's /proc/stat, with a control server
 * loaded beside it. A latency target is judged over several windows: on a shared VM one
 * window can land on a neighbour's burst and another not, and the verdict must not depend
 * on which one a run drew.
 */
import { sleep } from '../../lib/retry.js';
import { runOpenLoop, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';
import { machineWindow } from './proc.js';

/**
 * What the API's /metrics say about a window, for one route: requests completed, the share it
 * took over 10 ms itself, CPU cores, event-loop delay beyond prom-client's 10 ms sampling
 * interval, time its loop thread was runnable without a CPU, mark-compact GCs, and the share
 * of batched PostgreSQL statements' callers that waited over 10 ms (the last two absent in
 * older results).
 */
export interface ApiVitals {
  requests: number;
  serverOver10msShare: number;
  cpuCores: number;
  eventLoopDelayMaxMs: number;
  runQueueWaitMs?: number;
  majorGcs: number;
  pgWaitOver10msShare?: number;
}

export interface MeasuredWindow {
  load: OpenLoopResult;
  api: ApiVitals;
  machine: { busy: number; steal: number };
  /** The control server (control-target.ts) loaded at a low rate over the same window. */
  control: OpenLoopResult;
}

export type Control = { url: string; rate: number };
export type LatencyTarget = { rps: number; p99Ms: number };
/** `met`: every window met the target; `metWindows`: how many did. */
export type RepeatedWindows = {
  windows: MeasuredWindow[];
  p99MedianMs: number;
  p99WorstMs: number;
  metWindows: number;
  met: boolean;
};
/** A /metrics text and when (performance.now()) it was taken. */
export type Scrape = { at: number; text: string };

/** Sum of every sample of `name` whose labels contain all of `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  let sum = 0;
  for (const line of text.split('\n')) {
    const rest = line.slice(name.length);
    if (!line.startsWith(name) || (rest[0] !== ' ' && rest[0] !== '{')) continue;
    if (!wanted.every((w) => rest.includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** The API's vitals over the window between two scrapes of its /metrics, for `route`. */
export function vitalsBetween(before: Scrape, after: Scrape, route: string): ApiVitals {
  const delta = (name: string, labels: Record<string, string> = {}) =>
    sampleSum(after.text, name, labels) - sampleSum(before.text, name, labels);
  const share = (over: number, all: number) => (all > 0 ? Number((1 - over / all).toFixed(5)) : 0);
  const requests = delta('http_request_duration_seconds_count', { route });
  const pgWaits = delta('pg_batch_wait_seconds_count');
  const lagMaxMs = sampleSum(after.text, 'nodejs_eventloop_lag_max_seconds') * 1000 - 10;
  return {
    requests,
    serverOver10msShare: share(
      delta('http_request_duration_seconds_bucket', { route, le: '0.01' }),
      requests,
    ),
    cpuCores: Number((delta('process_cpu_seconds_total') / ((after.at - before.at) / 1000)).toFixed(3)),
    eventLoopDelayMaxMs: Number(Math.max(0, lagMaxMs).toFixed(2)),
    runQueueWaitMs: Math.round(delta('nodejs_eventloop_runqueue_wait_seconds_total') * 1000),
    majorGcs: delta('nodejs_gc_duration_seconds_count', { kind: 'major' }),
    pgWaitOver10msShare: share(delta('pg_batch_wait_seconds_bucket', { le: '0.01' }), pgWaits),
  };
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return { at: performance.now(), text: await res.text() };
}

/**
 * `repeats` windows of `spec` against the API at `url` (route pattern `route`), each with
 * the control server loaded beside it, `pauseMs` apart so one window's backlog never
 * spills into the next; judged against `target`.
 */
export async function measureRepeated(
  url: string,
  route: string,
  spec: OpenLoopSpec,
  opts: { repeats: number; pauseMs: number; target: LatencyTarget; control: Control },
): Promise<RepeatedWindows> {
  const windows: MeasuredWindow[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    if (i > 0) await sleep(opts.pauseMs);
    const before = await scrape(url);
    const closeMachine = machineWindow();
    const [load, control] = await Promise.all([
      runOpenLoop(spec),
      runOpenLoop({
        url: opts.control.url,
        rate: opts.control.rate,
        durationSec: spec.durationSec,
        maxConnections: 16,
        request: () => ({ path: '/control', headers: {} }),
      }),
    ]);
    const machine = closeMachine();
    windows.push({ load, api: vitalsBetween(before, await scrape(url), route), machine, control });
  }
  return judgeWindows(windows, opts.target);
}

/** Whether one window's load met the target (rate offered and achieved, no errors, p99). */
export function windowMet(load: OpenLoopResult, target: LatencyTarget): boolean {
  return (
    load.rate >= target.rps &&
    load.achievedPerSec >= load.rate * 0.98 &&
    load.p99Ms <= target.p99Ms &&
    load.non2xx === 0 &&
    load.errors === 0
  );
}

/** The verdict over windows: median and worst p99, and met only when every window met. */
export function judgeWindows(windows: MeasuredWindow[], target: LatencyTarget): RepeatedWindows {
  if (windows.length === 0) throw new Error('judgeWindows: no windows');
  const p99s = windows.map((w) => w.load.p99Ms);
  const metWindows = windows.filter((w) => windowMet(w.load, target)).length;
  const sorted = [...p99s].sort((a, b) => a - b);
  const p99MedianMs = sorted[Math.floor((sorted.length - 1) / 2)]!;
  return {
    windows,
    p99MedianMs,
    p99WorstMs: Math.max(...p99s),
    metWindows,
    met: metWindows === windows.length,
  };
}

/** The API's CPU per request served in the window, µs. */
export function apiUsPerRequest(w: MeasuredWindow): number {
  return Math.round((w.api.cpuCores * 1e6) / Math.max(1, w.load.achievedPerSec));
}

const pct = (share: number | undefined) => (share === undefined ? '–' : `${(share * 100).toFixed(2)}%`);

/** The cells of one window, by column (windowsTable's header; also the bench's log line). */
function cells(w: MeasuredWindow): Array<[string, string | number]> {
  const l = w.load;
  return [
    ['offered / achieved req/s', `${l.rate.toLocaleString('en')} / ${l.achievedPerSec.toLocaleString('en')}`],
    ['p50 ms', l.p50Ms],
    ['p99 ms', `**${l.p99Ms}**`],
    ['max ms', l.maxMs],
    ['errors', l.non2xx + l.errors],
    ['send lag p99 / max ms', `${l.sendLagP99Ms} / ${l.sendLagMaxMs}`],
    ['control p99 / max ms', `${w.control.p99Ms} / ${w.control.maxMs}`],
    ['API CPU µs/req', apiUsPerRequest(w)],
    ['API > 10 ms', pct(w.api.serverOver10msShare)],
    ['loop delay max ms', w.api.eventLoopDelayMaxMs],
    ['loop waited for CPU ms', w.api.runQueueWaitMs ?? '–'],
    ['major GCs', w.api.majorGcs],
    ['PG waits > 10 ms', pct(w.api.pgWaitOver10msShare)],
    ['machine busy', pct(w.machine.busy)],
    ['steal', pct(w.machine.steal)],
  ];
}

/** One window in one log line. */
export function describeWindow(w: MeasuredWindow): string {
  return cells(w)
    .map(([name, value]) => `${name} ${String(value).replaceAll('**', '')}`)
    .join(', ');
}

/** A markdown table, one row per window: what the client, the API and the machine saw. */
export function windowsTable(
  rows: Array<{ label: string; window: MeasuredWindow; verdict: string }>,
): string {
  const names = cells(rows[0]!.window).map(([name]) => name);
  return [
    `| Window | ${names.join(' | ')} | target |`,
    `| --- | ${names.map(() => '---:').join(' | ')} | --- |`,
    ...rows.map(
      (r) =>
        `| ${r.label} | ${cells(r.window)
          .map(([, v]) => v)
          .join(' | ')} | ${r.verdict} |`,
    ),
  ].join('\n');
}

/** What the columns of windowsTable mean, for the generated pages. */
export const WINDOW_COLUMNS_NOTE = `- **send lag**: how late after its due time the generator sent a request (its own stalls on the
  shared cores, or every connection busy); part of the latencies.
- **control**: a bare \`node:http\` server in its own process (\`src/control-target.ts\`) loaded at 200 req/s in
  the same window: its tail is the machine's own (hypervisor, kernel, neighbours), the floor under any server here.
- **API …**, **loop …**, **major GCs** and **PG waits** come from the API's own \`/metrics\` over the window
  (\`nodejs_eventloop_runqueue_wait_seconds_total\`, \`pg_batch_wait_seconds\`); **machine busy** and **steal**
  from \`/proc/stat\`. A slow window whose control is slow too is the machine's; one whose API > 10 ms share
  stays near zero while the client saw more is queueing outside the handler.`;
