import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sleep } from '../../lib/retry.js';

export const ROOT = resolve(import.meta.dirname, '../..');

/**
 * The node flags of a benchmark's own process where it only drives load at a process under
 * test (bench:experiments, bench:segments; package.json, held there by a unit test).
 *
 * That process allocates between windows (building the next window's requests, reading the
 * last one's answers) and sits idle during one. V8's memory reducer then ran a full GC in the
 * middle of the window, its marking on Node's four worker threads: in a scheduler trace of
 * one such GC, the harness took both cores for ~45 ms and the API's event loop, PostgreSQL
 * and the generator each waited 3–8 ms for a CPU (architecture/adr/0006, ninth pass). In
 * production no such process runs beside the API. Without the memory reducer the harness
 * collects only when it allocates, between windows, and with one GC thread a collection
 * takes at most one core.
 */
export const HARNESS_NODE_FLAGS: readonly string[] = ['--single-threaded-gc', '--no-memory-reducer'];

export interface Child {
  proc: ChildProcess;
  /** Peak resident set size so far (VmHWM), in MiB. */
  peakRssMiB(): number;
  stop(): Promise<void>;
}

/**
 * Starts a TypeScript entry point as a process under test (node --import tsx: the pid is
 * the real process), with `nodeFlags` (the API's launch flags, for a process serving the
 * API: lib/runtime/node-flags.ts). BENCH_NODE_ARGS adds node flags after them, so it can
 * also override them (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`, which NODE_OPTIONS refuses).
 */
export function startTs(
  entry: string,
  env: Record<string, string>,
  logFile: string,
  nodeFlags: readonly string[] = [],
): Child {
  const out = openSync(logFile, 'a');
  const nodeArgs = [...nodeFlags, ...(process.env.BENCH_NODE_ARGS ?? '').split(' ').filter((a) => a !== '')];
  const proc = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
  let lastPeak = 0;
  const peak = () => {
    try {
      const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${proc.pid}/status`, 'utf8'));
      if (m !== null) lastPeak = Number(m[1]) / 1024;
    } catch {
      // exited: keep the last reading
    }
    return lastPeak;
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

export async function waitHttp(url: string, timeoutMs = 120_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    await sleep(200);
  }
  throw new Error(`${url} not ready after ${timeoutMs} ms`);
}
