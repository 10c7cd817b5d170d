import type { ChildProcess } from 'node:child_process';

/**
 * Signals a child process and waits until it has exited; at once for one already gone.
 * With `killAfterMs`, a child still running that long after the signal gets SIGKILL, so a
 * stop ends even when a graceful shutdown hangs.
 */
export async function signalChild(
  proc: ChildProcess,
  signal: NodeJS.Signals,
  killAfterMs?: number,
): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  proc.kill(signal);
  const timer = killAfterMs === undefined ? undefined : setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
  await exited;
  clearTimeout(timer);
}
