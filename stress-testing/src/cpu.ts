import { readFileSync } from 'node:fs';

/** Linux clock ticks per second for /proc times (USER_HZ, 100 on every x86-64 kernel). */
const TICKS = 100;

/** CPU seconds (user + system) a process has used so far; its last value after it exits. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / TICKS;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per 1,000 items (events, rows, messages), two decimals; 0 for no items. */
export function cpuMsPer1k(cpuSeconds: number, items: number): number {
  return items > 0 ? Math.round(((cpuSeconds * 1e6) / items) * 100) / 100 : 0;
}

/** Machine-wide busy and total CPU ticks since boot (from /proc/stat). */
function machineTicks(): { busy: number; total: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total };
}

/**
 * How busy the whole machine's cores were between start() and the returned function's
 * call, as a fraction (1 = every core busy all the time). Tells a CPU wall from waiting.
 */
export function machineBusy(): () => number {
  const start = machineTicks();
  return () => {
    const end = machineTicks();
    return (end.busy - start.busy) / Math.max(1, end.total - start.total);
  };
}
