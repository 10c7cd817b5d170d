/**
 * One measured window of open-loop load, seen from the three sides at once: the load
 * generator's latencies, the API's own vitals, and the machine's. A latency target is
 * judged over several such windows, because on this shared VM one window can land on a
 * neighbour's burst (steal, stalls of 100–300 ms) and another not: the verdict must not
 * depend on which one a run happened to draw.
 */
import { sleep } from '../../lib/retry.js';
import { openVitalsWindow, type ApiVitals } from './api-vitals.js';
import { machineWindow, type MachineWindow } from './cpu.js';
import { benchDisk, watchDisk, type DiskWindow } from './disk-probe.js';
import { runOpenLoop, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';
import { walWindow, type WalWindow } from './wal-window.js';

export interface MeasuredWindow {
  load: OpenLoopResult;
  api: ApiVitals;
  machine: MachineWindow;
  /** The disk's stalls over the window (disk-probe.ts); undefined where no disk could be watched. */
  disk: DiskWindow | undefined;
  /** PostgreSQL's WAL over the window (wal-window.ts); undefined for a bench without a database. */
  wal: WalWindow | undefined;
  /** The control server (control-target.ts) loaded at a low rate over the same window. */
  control: OpenLoopResult;
}

/** The control server and the rate it is loaded at, next to the API. */
export interface Control {
  url: string;
  rate: number;
}

export interface LatencyTarget {
  rps: number;
  p99Ms: number;
}

export interface RepeatedWindows {
  windows: MeasuredWindow[];
  /** Median and worst p99 over the windows. */
  p99MedianMs: number;
  p99WorstMs: number;
  /** Windows that met the target on their own. */
  metWindows: number;
  /** Every window met it: at the target rate, all answered 2xx, p99 within. */
  met: boolean;
}

/**
 * Runs one window of `spec` against the API at `url`, whose route pattern is `route`, and
 * at the same time a low-rate load against the control server.
 */
export async function measureWindow(
  url: string,
  route: string,
  spec: OpenLoopSpec,
  control: Control,
  database?: string,
): Promise<MeasuredWindow> {
  const closeVitals = await openVitalsWindow(url, route);
  const closeWal = database === undefined ? undefined : await walWindow(database);
  const closeMachine = machineWindow();
  const closeDisk = watchDisk(benchDisk());
  const [load, controlLoad] = await Promise.all([
    runOpenLoop(spec),
    runOpenLoop({
      url: control.url,
      rate: control.rate,
      durationSec: spec.durationSec,
      maxConnections: 16,
      request: () => ({ path: '/control', headers: {} }),
    }),
  ]);
  const machine = closeMachine();
  const disk = await closeDisk();
  const wal = await closeWal?.();
  const api = await closeVitals();
  return { load, api, machine, disk, wal, control: controlLoad };
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

/**
 * `repeats` windows of the same load, `pauseMs` apart (so one window's backlog never
 * spills into the next), judged against `target`.
 */
export async function measureRepeated(
  url: string,
  route: string,
  spec: OpenLoopSpec,
  opts: {
    repeats: number;
    pauseMs: number;
    target: LatencyTarget;
    control: Control;
    /** The PostgreSQL the API uses, for the WAL figures of each window. */
    database?: string;
  },
): Promise<RepeatedWindows> {
  const windows: MeasuredWindow[] = [];
  for (let i = 0; i < opts.repeats; i++) {
    if (i > 0) await sleep(opts.pauseMs);
    windows.push(await measureWindow(url, route, spec, opts.control, opts.database));
  }
  return judgeWindows(windows, opts.target);
}

/** The verdict over windows: median and worst p99, and met only when every window met. */
export function judgeWindows(windows: MeasuredWindow[], target: LatencyTarget): RepeatedWindows {
  if (windows.length === 0) throw new Error('judgeWindows: no windows');
  const p99s = windows.map((w) => w.load.p99Ms);
  const metWindows = windows.filter((w) => windowMet(w.load, target)).length;
  return {
    windows,
    p99MedianMs: median(p99s),
    p99WorstMs: Math.max(...p99s),
    metWindows,
    met: metWindows === windows.length,
  };
}

/** The middle value (the lower of the two middle ones for an even count); 0 for none. */
export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor((sorted.length - 1) / 2)] ?? 0;
}

/** The API's CPU per request served in the window, µs. */
export function apiUsPerRequest(w: MeasuredWindow): number {
  return Math.round((w.api.cpuCores * 1e6) / Math.max(1, w.load.achievedPerSec));
}

/** The API's and the machine's side of a window, in one log line. */
export function describeVitals(w: MeasuredWindow): string {
  return (
    `api ${w.api.cpuCores} cores (${apiUsPerRequest(w)} µs/req), ${(w.api.serverOver10msShare * 100).toFixed(2)}% over 10 ms inside, ` +
    `loop delay max ${w.api.eventLoopDelayMaxMs} ms, loop thread waited for a CPU ${w.api.runQueueWaitMs} ms, major GCs ${w.api.majorGcs}, PG statements/req ${pgStatements(w)}, PG waits over 10 ms ${pgWaits(w)}, PG ${w.machine.coresByCommand['postgres'] ?? 0} cores, waited for a CPU ${pgRunQueueWait(w)} ms; generator send lag p99 ${w.load.sendLagP99Ms} ms, max ${w.load.sendLagMaxMs} ms; control p99 ${w.control.p99Ms} ms, max ${w.control.maxMs} ms; disk stalls ≥ 10 ms ${diskStallsOf(w)}; WAL ${walOf(w)}; machine ${pct(w.machine.busy)} busy, steal ${pct(w.machine.steal)}`
  );
}

/** Batched statements per request and keys per statement; a dash where the route made none. */
function pgStatements(w: MeasuredWindow): string {
  return w.api.pgStatementsPerRequest === 0
    ? '–'
    : `${w.api.pgStatementsPerRequest} (${w.api.pgKeysPerStatement})`;
}

/** Share of batched-statement callers that waited over 10 ms; a dash where the route made none. */
function pgWaits(w: MeasuredWindow): string {
  return w.api.pgStatementsPerRequest === 0 ? '–' : `${(w.api.pgWaitOver10msShare * 100).toFixed(2)}%`;
}

/** The disk's stalls of 10 ms or more: count (longest, ms); a dash where none was watched. */
function diskStallsOf(w: MeasuredWindow): string {
  return w.disk === undefined ? '–' : `${w.disk.stallsOver10ms} (${w.disk.longestStallMs})`;
}

/**
 * The WAL's bytes per request served and its full-page images, and checkpoints started in
 * the window; a dash where the window read no WAL figures. Bytes, not a share of records:
 * a full-page image is one record of ~8 KB against ~100 bytes for the others, so 0.8% of
 * the records were 47% of the bytes in one window.
 */
function walOf(w: MeasuredWindow): string {
  if (w.wal === undefined) return '–';
  const kbPerRequest = w.wal.bytes / 1024 / Math.max(1, w.load.completed);
  const started =
    w.wal.checkpoints === 0
      ? ''
      : `, checkpoint ${w.wal.checkpoints === 1 ? 'started' : `×${w.wal.checkpoints}`}`;
  const opened = w.wal.connectionsOpened;
  const connections = opened === 0 ? '' : `, ${opened} connection${opened === 1 ? '' : 's'} opened`;
  return `${kbPerRequest.toFixed(2)} KB/req (${w.wal.fullPageImages.toLocaleString('en')} full-page images${started}${connections})`;
}

/** PostgreSQL's processes' run-queue wait over the window, ms (0 where none was measured). */
function pgRunQueueWait(w: MeasuredWindow): number {
  return w.machine.runQueueWaitMsByCommand['postgres'] ?? 0;
}

function pct(share: number): string {
  return `${(share * 100).toFixed(1)}%`;
}

/**
 * A markdown table, one row per window: what the client saw, what the API saw, and how
 * busy the machine was (so a slow window shows whether the API or the box was the cause).
 */
export function windowsTable(
  rows: Array<{ label: string; window: MeasuredWindow; verdict: string }>,
): string {
  const columns = [
    'Window',
    'offered / achieved req/s',
    'p50 ms',
    'p90 ms',
    'p99 ms',
    'max ms',
    'errors',
    'send lag p99 / max ms',
    'control p99 / max ms',
    'API CPU µs/req',
    'API > 10 ms',
    'loop delay max ms',
    'loop waited for CPU ms',
    'major GCs',
    'PG statements / req (keys each)',
    'PG waits > 10 ms',
    'PG cores',
    'PG waited for CPU ms',
    'disk stalls ≥ 10 ms (longest ms)',
    'WAL KB/req (full-page images)',
    'machine busy',
    'steal',
    'target',
  ];
  // The separator is derived from the header, so the two cannot disagree on the count.
  const head =
    `| ${columns.join(' | ')} |\n` +
    `| ${columns.map((_, i) => (i === 0 || i === columns.length - 1 ? '---' : '---:')).join(' | ')} |`;
  const body = rows.map(({ label, window: w, verdict }) => {
    const l = w.load;
    return (
      `| ${label} | ${l.rate.toLocaleString('en')} / ${l.achievedPerSec.toLocaleString('en')} | ${l.p50Ms} | ${l.p90Ms} | **${l.p99Ms}** | ${l.maxMs} | ` +
      `${l.non2xx + l.errors} | ${l.sendLagP99Ms} / ${l.sendLagMaxMs} | ${w.control.p99Ms} / ${w.control.maxMs} | ${apiUsPerRequest(w)} | ${(w.api.serverOver10msShare * 100).toFixed(2)}% | ${w.api.eventLoopDelayMaxMs} | ${w.api.runQueueWaitMs} | ${w.api.majorGcs} | ${pgStatements(w)} | ${pgWaits(w)} | ${w.machine.coresByCommand['postgres'] ?? 0} | ${pgRunQueueWait(w)} | ${diskStallsOf(w)} | ${walOf(w)} | ${pct(w.machine.busy)} | ${pct(w.machine.steal)} | ${verdict} |`
    );
  });
  return [head, ...body].join('\n');
}

/** What the columns of windowsTable mean, for the generated pages. */
export const WINDOW_COLUMNS_NOTE = `- **send lag**: how late after its due time the generator sent a request (its own stalls on the shared cores,
  or every connection busy); part of the latencies.
- **control**: a bare \`node:http\` server in its own process (\`src/control-target.ts\`), loaded at 200 req/s in
  the same window: its tail is the machine's own (hypervisor, kernel, neighbours), the floor under any server here.
- **API CPU µs/req**, **API > 10 ms** (share of requests the API itself took over 10 ms), **loop delay max** and
  **loop waited for CPU** (time the API's event-loop thread was runnable but had no core, from the kernel's
  schedstat: \`nodejs_eventloop_runqueue_wait_seconds_total\`) and **major GCs** (mark-compacts that ended in the
  window: each one's concurrent marking takes cores from the event loop for 50–150 ms first, architecture/adr/0006)
  come from the API's own \`/metrics\` over the window; **machine busy** and **steal** from \`/proc/stat\`.
- **PG statements / req (keys each)**: batched PostgreSQL statements (\`pg_batch_keys\`) per request, and the
  requests' keys each one carried: concurrent requests share statements (one round trip and one commit for many);
  **PG waits > 10 ms**: share of the callers of those statements that waited over 10 ms for their answer
  (\`pg_batch_wait_seconds\`: the queue behind the statements in flight, then the round trip);
  **PG cores**: CPU of every PostgreSQL process over the window; **PG waited for CPU**: the time those processes were
  runnable but had no core (their schedstat), summed: PostgreSQL starved by its neighbours, as the API's loop can be.
- **disk stalls ≥ 10 ms (longest ms)**: stretches in which the disk under PostgreSQL (\`BENCH_DISK_PATH\`, default
  \`/\`) had I/O in flight and completed none for 10 ms or more, read every 2 ms (\`src/disk-probe.ts\`): a commit
  waits each one out in full, and with it every new device whose answer waits for that commit.
- **WAL KB/req (full-page images)**: the WAL PostgreSQL wrote in the window per request served (\`pg_stat_wal\`), the
  full-page images among it, and whether a checkpoint started in it. After a checkpoint starts, each page's first
  change is logged whole (~8 KB), so a new device's commit carries more bytes until most pages have been touched once.
  Connections opened to the database in the window are named there too (\`pg_stat_database.sessions\`): a new
  backend's first statements wait for it to start and fill its caches.
- A slow window whose control is slow too is the machine's; one whose API > 10 ms share stays near zero while
  the client saw more is queueing outside the handler (the kernel's loopback path, scheduling on 2 shared cores).`;
