import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sleep } from '../../lib/retry.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The node flags of a benchmark's own process where it only drives load at a process under
 * test (bench:experiments, bench:segments in package.json, held there by a test). That
 * process allocates between windows and idles during one, so V8's memory reducer ran a full
 * GC mid-window with marking on every worker thread, taking the cores the API and
 * PostgreSQL needed. Without the reducer it collects only between windows, on one thread.
 */
export const HARNESS_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--no-memory-reducer'];

/** A process under test; `peakRssMiB`: its peak resident set so far (VmHWM). */
export type Child = { proc: ChildProcess; peakRssMiB(): number; stop(): Promise<void> };

/**
 * Starts a TypeScript entry point as a process under test (node --import tsx: the pid is
 * the real process) with `nodeFlags` (the API's launch flags, for a process serving the API).
 */
export function startTs(
  entry: string,
  env: Record<string, string>,
  logFile: string,
  nodeFlags: readonly string[] = [],
): Child {
  const out = openSync(logFile, 'a');
  const proc = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  let lastPeak = 0;
  const peak = () => {
    const m = /VmHWM:\s+(\d+) kB/.exec(readProc(`/proc/${proc.pid}/status`));
    if (m !== null) lastPeak = Number(m[1]) / 1024;
    return lastPeak; // after exit: the last reading
  };
  return {
    proc,
    peakRssMiB: peak,
    async stop() {
      peak();
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await Promise.race([exited, sleep(20_000).then(() => proc.kill('SIGKILL'))]);
    },
  };
}

/** Runs a TypeScript script to its end; the JSON of its last stdout line. */
export function runTsJson<T>(entry: string, args: string[]): T {
  const res = spawnSync(process.execPath, ['--import', 'tsx', resolve(ROOT, entry), ...args], {
    ...{ cwd: ROOT, encoding: 'utf8', maxBuffer: 16 * 1024 * 1024, timeout: 3_600_000 },
  });
  const line = res.stdout.trim().split('\n').pop() ?? '';
  if (res.status !== 0 || !line.startsWith('{'))
    throw new Error(`${entry} ${args[0]} failed: ${res.stderr.slice(-2000)}`);
  return JSON.parse(line) as T;
}

export async function waitHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if ((await fetch(url).catch(() => undefined))?.ok === true) return;
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}

function readProc(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return ''; // the process exited
  }
}

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  const stat = pid === undefined ? '' : readProc(`/proc/${pid}/stat`);
  return stat === '' ? undefined : statCpuSeconds(stat);
}

/** User + system CPU seconds of a /proc stat line (a process's or a thread's). */
function statCpuSeconds(stat: string): number {
  // utime and stime are fields 14 and 15, counted in USER_HZ (100) ticks.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}

/** A process's CPU by kind of thread (see `threadCpuSeconds`). */
export interface ThreadCpu {
  /** The main thread: JavaScript, and the GC's pauses. */
  js: number;
  /** Threads the embedded engine names (its insert pool, merges, ...). */
  engine: number;
  /** node's own threads (libuv's pool, where the engine's calls run, and V8's helpers, where parallel GC runs). */
  node: number;
}

/**
 * Threads of node itself, not of the engine: on Node 20 every one keeps the process's name;
 * newer libuv names its pool `libuv-worker`, and V8's and node's helpers may carry their own.
 */
const NODE_THREAD = /^(node|libuv-worker|V8 |DelayedTask|SignalInspector|inspector)/;

/** CPU seconds of a process by kind of thread so far, from /proc/<pid>/task; undefined once it exited. */
export function threadCpuSeconds(pid: number | undefined): ThreadCpu | undefined {
  if (pid === undefined) return undefined;
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const cpu: ThreadCpu = { js: 0, engine: 0, node: 0 };
  for (const task of tasks) {
    const stat = readProc(`/proc/${pid}/task/${task}/stat`);
    if (stat === '') continue; // the thread ended meanwhile
    const name = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
    cpu[task === String(pid) ? 'js' : NODE_THREAD.test(name) ? 'node' : 'engine'] += statCpuSeconds(stat);
  }
  return cpu;
}

/** `threadCpuSeconds` from `before` to `after`, in ms per 1,000 items. */
export function threadCpuMsPer1k(before: ThreadCpu, after: ThreadCpu, items: number): ThreadCpu {
  const per = (k: keyof ThreadCpu) => cpuMsPer1k(after[k] - before[k], items);
  return { js: per('js'), engine: per('engine'), node: per('node') };
}

/** CPU milliseconds per 1,000 items (events, rows, messages), two decimals; 0 for no items. */
export function cpuMsPer1k(cpuSeconds: number, items: number): number {
  return items > 0 ? Math.round(((cpuSeconds * 1e6) / items) * 100) / 100 : 0;
}

/**
 * The machine's cores from now to the returned function's call (/proc/stat): the share busy
 * (1 = every core all the time) and the share stolen by the hypervisor.
 */
export function machineWindow(): () => { busy: number; steal: number } {
  const ticks = () => {
    const cpu = readProc('/proc/stat').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
    const total = cpu.reduce((a, b) => a + b, 0);
    return { busy: total - (cpu[3] ?? 0) - (cpu[4] ?? 0), total, steal: cpu[7] ?? 0 };
  };
  const start = ticks();
  return () => {
    const end = ticks();
    const total = Math.max(1, end.total - start.total);
    const share = (v: number) => Number((v / total).toFixed(3));
    return { busy: share(end.busy - start.busy), steal: share(end.steal - start.steal) };
  };
}
