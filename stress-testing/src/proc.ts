import { spawn, type ChildProcess } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { sleep } from '../../lib/retry.js';

export const ROOT = resolve(import.meta.dirname, '../..');

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
