/**
 * One measured window of open-loop load, seen from the generator, the API's own /metrics and
 * the machine's /proc/stat, with a control server loaded beside it. A target is judged over
 * several windows: on a shared VM one window can land on a neighbour's burst and another not.
 */
import { sleep } from '../../lib/retry.js';
import { runOpenLoop, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';
import { machineWindow } from './proc.js';

/** What the API's /metrics say about a window, for one route (the optional ones are absent in older results). */
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

/** GET `url`/metrics, with when it answered. */
export async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return { at: performance.now(), text: await res.text() };
}

/** `repeats` windows of `spec` against the API (route pattern `route`), `pauseMs` apart so no backlog spills over. */
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
    const request = () => ({ path: '/control', headers: {} });
    const controlSpec = { ...opts.control, durationSec: spec.durationSec, maxConnections: 16, request };
    const [load, control] = await Promise.all([runOpenLoop(spec), runOpenLoop(controlSpec)]);
    const machine = closeMachine();
    windows.push({ load, api: vitalsBetween(before, await scrape(url), route), machine, control });
  }
  return judgeWindows(windows, opts.target);
}

/** Whether one window's load met the target (rate offered and achieved, no errors, p99). */
export function windowMet(load: OpenLoopResult, target: LatencyTarget): boolean {
  const clean = load.non2xx === 0 && load.errors === 0 && load.p99Ms <= target.p99Ms;
  return clean && load.rate >= target.rps && load.achievedPerSec >= load.rate * 0.98;
}

/** The verdict over windows: median and worst p99, and met only when every window met. */
export function judgeWindows(windows: MeasuredWindow[], target: LatencyTarget): RepeatedWindows {
  if (windows.length === 0) throw new Error('judgeWindows: no windows');
  const p99s = windows.map((w) => w.load.p99Ms);
  const metWindows = windows.filter((w) => windowMet(w.load, target)).length;
  const sorted = [...p99s].sort((a, b) => a - b);
  const p99MedianMs = sorted[Math.floor((sorted.length - 1) / 2)]!;
  const p99WorstMs = Math.max(...p99s);
  return { windows, p99MedianMs, p99WorstMs, metWindows, met: metWindows === windows.length };
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
          .map(([, v]) => String(v))
          .join(' | ')} | ${r.verdict} |`,
    ),
  ].join('\n');
}
