/**
 * What the API process says about itself over a measured window, from two scrapes of its
 * own /metrics: how many requests it served over 10 ms (server-side, from the route
 * histogram), its GC time, and its event-loop delay. Set next to the load generator's
 * latencies, it tells a slow handler from a busy event loop from queueing outside the API.
 */

export interface ApiVitals {
  /** Requests of the route completed in the window. */
  requests: number;
  /** Of those, the share the API itself took more than 10 ms to answer. */
  serverOver10msShare: number;
  /** GC pause time in the window, ms, and as a share of the window's wall time. */
  gcMs: number;
  gcShare: number;
  /**
   * Event-loop delay over the window (prom-client resets it at each scrape), ms beyond
   * prom-client's 10 ms sampling interval: Node's histogram includes the interval, so an
   * idle loop reads 10.
   */
  eventLoopDelayP99Ms: number;
  eventLoopDelayMaxMs: number;
  /**
   * Time the API's event-loop thread was runnable but waited for a CPU, ms over the window
   * (nodejs_eventloop_runqueue_wait_seconds_total): the cores taken by something else.
   */
  runQueueWaitMs: number;
  /**
   * Major (mark-compact) GCs that ended in the window (nodejs_gc_duration_seconds_count,
   * kind major). Their pause is short, but their concurrent marking takes cores from the
   * event loop for 50–150 ms first (architecture/adr/0006, "Major GC set the tail").
   */
  majorGcs: number;
  /** CPU seconds the API process used per second of the window (1 = one core). */
  cpuCores: number;
  /** Of which in the kernel (syscalls, network stack, wake-ups). */
  cpuSystemCores: number;
  /**
   * Batched PostgreSQL statements (pg_batch_keys) in the window per request, and keys per
   * such statement: how much concurrent requests shared their round trips.
   */
  pgStatementsPerRequest: number;
  pgKeysPerStatement: number;
  /**
   * Of the callers of batched statements in the window, the share that waited more than
   * 10 ms for their answer (pg_batch_wait_seconds: the queue behind statements in flight and
   * the round trip). Next to "API > 10 ms" it tells a slow database lane from the rest.
   */
  pgWaitOver10msShare: number;
}

/** prom-client's default eventLoopMonitoringPrecision. */
const LAG_RESOLUTION_MS = 10;

export interface Scrape {
  /** When it was taken, ms (performance.now()). */
  at: number;
  /** The /metrics text. */
  text: string;
}

async function scrape(url: string): Promise<Scrape> {
  const res = await fetch(`${url}/metrics`);
  if (!res.ok) throw new Error(`GET /metrics answered ${res.status}`);
  return { at: performance.now(), text: await res.text() };
}

/** Sum of every sample of `name` whose labels contain all of `labels`. */
export function sampleSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  const wanted = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue;
    if (!wanted.every((w) => rest.includes(w))) continue;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (Number.isFinite(value)) sum += value;
  }
  return sum;
}

/** Starts a window now; the returned function closes it and reports. */
export async function openVitalsWindow(url: string, route: string): Promise<() => Promise<ApiVitals>> {
  const before = await scrape(url);
  return async () => vitalsBetween(before, await scrape(url), route);
}

/** The API's vitals over the window between two scrapes of its /metrics, for `route`. */
export function vitalsBetween(before: Scrape, after: Scrape, route: string): ApiVitals {
  const delta = (name: string, labels: Record<string, string> = {}) =>
    sampleSum(after.text, name, labels) - sampleSum(before.text, name, labels);
  const requests = delta('http_request_duration_seconds_count', { route });
  const within10ms = delta('http_request_duration_seconds_bucket', { route, le: '0.01' });
  const seconds = (after.at - before.at) / 1000;
  const statements = delta('pg_batch_keys_count');
  const pgWaits = delta('pg_batch_wait_seconds_count');
  const pgWaitsWithin10ms = delta('pg_batch_wait_seconds_bucket', { le: '0.01' });
  const gcSec = delta('nodejs_gc_duration_seconds_sum');
  const round = (v: number, digits = 2) => Number(v.toFixed(digits));
  const delayMs = (name: string) =>
    round(Math.max(0, sampleSum(after.text, name) * 1000 - LAG_RESOLUTION_MS));
  return {
    requests,
    serverOver10msShare: requests > 0 ? round(1 - within10ms / requests, 5) : 0,
    gcMs: round(gcSec * 1000, 1),
    gcShare: round(gcSec / seconds, 4),
    eventLoopDelayP99Ms: delayMs('nodejs_eventloop_lag_p99_seconds'),
    eventLoopDelayMaxMs: delayMs('nodejs_eventloop_lag_max_seconds'),
    runQueueWaitMs: round(delta('nodejs_eventloop_runqueue_wait_seconds_total') * 1000, 0),
    majorGcs: delta('nodejs_gc_duration_seconds_count', { kind: 'major' }),
    cpuCores: round(delta('process_cpu_seconds_total') / seconds, 3),
    cpuSystemCores: round(delta('process_cpu_system_seconds_total') / seconds, 3),
    pgStatementsPerRequest: requests > 0 ? round(statements / requests, 3) : 0,
    pgKeysPerStatement: statements > 0 ? round(delta('pg_batch_keys_sum') / statements) : 0,
    pgWaitOver10msShare: pgWaits > 0 ? round(1 - pgWaitsWithin10ms / pgWaits, 5) : 0,
  };
}
