import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { openSync } from 'node:fs';
import { resolve } from 'node:path';

export const ROOT = resolve(import.meta.dirname, '../..');

/** Starts a TypeScript entry point as a child process, output appended to logFile. */
export function spawnTs(entry: string, env: Record<string, string>, logFile: string): ChildProcess {
  const out = openSync(logFile, 'a');
  // NOTE: node --import tsx, not the tsx CLI: the CLI runs node as a grandchild, so a
  // SIGKILL would hit the wrapper and leave the real process running.
  return spawn(process.execPath, ['--import', 'tsx', resolve(ROOT, entry)], {
    cwd: ROOT,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
  });
}

export function exited(proc: ChildProcess): Promise<number | null> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve(proc.exitCode);
  return new Promise((r) => proc.once('exit', (code) => r(code)));
}

/** Queries an embedded-engine data directory from a separate process (see chdb-query.ts). */
export function queryChdbDir<T>(dir: string, sql: string): T[] {
  const res = spawnSync(
    process.execPath,
    ['--import', 'tsx', resolve(ROOT, 'test/helpers/chdb-query.ts'), dir, sql],
    {
      cwd: ROOT,
      encoding: 'utf8',
    },
  );
  if (res.status !== 0) throw new Error(`chdb query failed: ${res.stderr}`);
  return JSON.parse(res.stdout) as T[];
}
