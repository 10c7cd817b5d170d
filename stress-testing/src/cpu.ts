import { readdirSync, readFileSync } from 'node:fs';

/** Linux clock ticks per second for /proc times (USER_HZ, 100 on every x86-64 kernel). */
const TICKS = 100;

/** A process's command name and the CPU seconds it has used so far. */
export interface ProcessCpu {
  name: string;
  cpuSeconds: number;
  /**
   * Seconds its main thread was runnable but waited for a CPU, so far (/proc/<pid>/schedstat,
   * absent where the kernel has no schedstats). The main thread is the whole of a PostgreSQL
   * backend and the event loop of a Node process.
   */
  runQueueWaitSeconds?: number;
}

/** A process's command name and CPU seconds (user + system) from /proc/<pid>/stat. */
function readStat(pid: number | string): ProcessCpu {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return {
    name: stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')')),
    cpuSeconds: (Number(fields[11]) + Number(fields[12])) / TICKS,
  };
}

/** schedstat's second field: ns spent runnable on a run queue. */
function readRunQueueWait(pid: string): number | undefined {
  try {
    const wait = Number(readFileSync(`/proc/${pid}/schedstat`, 'utf8').split(' ')[1]);
    return Number.isFinite(wait) ? wait / 1e9 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU seconds (user + system) a process has used so far; its last value after it exits. */
export function processCpuSeconds(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    return readStat(pid).cpuSeconds;
  } catch {
    return undefined;
  }
}

/** CPU milliseconds per 1,000 items (events, rows, messages), two decimals; 0 for no items. */
export function cpuMsPer1k(cpuSeconds: number, items: number): number {
  return items > 0 ? Math.round(((cpuSeconds * 1e6) / items) * 100) / 100 : 0;
}

/** Machine-wide busy and total CPU ticks since boot (from /proc/stat). */
function machineTicks(): { busy: number; total: number; steal: number } {
  const cpu = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = (cpu[3] ?? 0) + (cpu[4] ?? 0); // idle + iowait
  return { busy: total - idle, total, steal: cpu[7] ?? 0 };
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

/** CPU seconds every process on the machine has used so far, by pid. */
function cpuSecondsByPid(): Map<string, ProcessCpu> {
  const out = new Map<string, ProcessCpu>();
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      out.set(pid, { ...readStat(pid), runQueueWaitSeconds: readRunQueueWait(pid) });
    } catch {
      // exited between the listing and the read
    }
  }
  return out;
}

/**
 * Cores used per command name between two readings `seconds` apart (1 = one core all the
 * time), largest first, those under 0.01 left out. Differences are taken per process, then
 * summed by name; summing by name first let a process that exited in the window take its
 * whole lifetime's CPU out of the end reading (PostgreSQL read 0 cores when a pool closed a
 * long-lived backend). A process that exited in the window is not counted; one that started
 * in it counts whole; a pid reused by another command counts as new.
 */
export function coresBetween(
  start: ReadonlyMap<string, ProcessCpu>,
  end: ReadonlyMap<string, ProcessCpu>,
  seconds: number,
): Record<string, number> {
  const used = [...deltaByName(start, end, (p) => p.cpuSeconds)]
    .map(([name, cpu]) => [name, cpu / seconds] as const)
    .filter(([, cores]) => cores >= 0.01)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(used.map(([name, cores]) => [name, Math.round(cores * 100) / 100]));
}

/**
 * Milliseconds the processes of each command waited for a CPU between two readings (their
 * main threads' run-queue time), with coresBetween's rules; commands under 1 ms left out.
 * Next to the API's own "loop waited for CPU" it tells whether PostgreSQL was starved too.
 */
export function runQueueWaitMsBetween(
  start: ReadonlyMap<string, ProcessCpu>,
  end: ReadonlyMap<string, ProcessCpu>,
): Record<string, number> {
  const waited = [...deltaByName(start, end, (p) => p.runQueueWaitSeconds ?? 0)]
    .map(([name, sec]) => [name, Math.round(sec * 1000)] as const)
    .filter(([, ms]) => ms >= 1)
    .sort((a, b) => b[1] - a[1]);
  return Object.fromEntries(waited);
}

/** Per-process differences of `value` between two readings, summed by command name. */
function deltaByName(
  start: ReadonlyMap<string, ProcessCpu>,
  end: ReadonlyMap<string, ProcessCpu>,
  value: (p: ProcessCpu) => number,
): Map<string, number> {
  const byName = new Map<string, number>();
  for (const [pid, now] of end) {
    const before = start.get(pid);
    const used = value(now) - (before?.name === now.name ? value(before) : 0);
    byName.set(now.name, (byName.get(now.name) ?? 0) + used);
  }
  return byName;
}

/** Where the cores went between start() and the returned function's call (coresBetween). */
function coresByCommand(): () => Pick<MachineWindow, 'coresByCommand' | 'runQueueWaitMsByCommand'> {
  const start = cpuSecondsByPid();
  const t0 = performance.now();
  return () => {
    const end = cpuSecondsByPid();
    return {
      coresByCommand: coresBetween(start, end, (performance.now() - t0) / 1000),
      runQueueWaitMsByCommand: runQueueWaitMsBetween(start, end),
    };
  };
}

/**
 * MiB the machine read from its disks between start() and the returned function's call
 * (/proc/vmstat pgpgin, KiB). Non-zero during a read benchmark means the data was not in
 * memory: this sandbox's host pages out page cache untouched for about a minute (DAMON).
 */
function diskReadMiB(): () => number {
  const pgpgin = () => Number(/^pgpgin (\d+)$/m.exec(readFileSync('/proc/vmstat', 'utf8'))?.[1] ?? 0);
  const start = pgpgin();
  return () => Math.round(((pgpgin() - start) / 1024) * 10) / 10;
}

export interface MachineWindow {
  /** Share of the cores' time that was busy (1 = both cores all the time). */
  busy: number;
  /** Share the hypervisor ran something else on this VM's cores: wanted and not given. */
  steal: number;
  coresByCommand: Record<string, number>;
  /** Run-queue wait of each command's processes over the window, ms (runQueueWaitMsBetween). */
  runQueueWaitMsByCommand: Record<string, number>;
  diskReadMiB: number;
}

/** Everything the machine tells about a window, from start() to the returned function's call. */
export function machineWindow(): () => MachineWindow {
  const ticks = machineTicks();
  const cores = coresByCommand();
  const disk = diskReadMiB();
  return () => {
    const end = machineTicks();
    const total = Math.max(1, end.total - ticks.total);
    return {
      busy: Number(((end.busy - ticks.busy) / total).toFixed(3)),
      steal: Number(((end.steal - ticks.steal) / total).toFixed(3)),
      ...cores(),
      diskReadMiB: disk(),
    };
  };
}
