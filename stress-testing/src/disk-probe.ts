/**
 * What the disk did during a measured window (`native/disk-probe.c`): the stretches in
 * which it had I/O in flight and completed none. On this machine's virtual disk such a
 * stall lasts from a few to several hundred milliseconds (architecture/adr/0006, tenth
 * pass), and every request that waits for a commit's flush waits it out in full.
 */
import { readlinkSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { nativeBinary, numberColumns, startNative } from './native-build.js';

/** One reading of the device: when, its I/Os completed since boot, its I/Os in flight. */
export interface DiskReading {
  tNs: number;
  completed: number;
  inFlight: number;
}

export interface DiskStall {
  /** Monotonic time of the first reading of the stretch, ns. */
  startNs: number;
  /** From its first to its last reading: a lower bound, short by at most one interval. */
  ms: number;
}

export interface DiskWindow {
  device: string;
  /** Stalls of 10 ms or more: each one alone holds a commit past the 10 ms target. */
  stallsOver10ms: number;
  longestStallMs: number;
  /** Their sum, ms. */
  stalledMs: number;
}

/** How often the watcher reads the device's counters (about 1.4% of a core here); a stall is known to within this. */
export const DISK_WATCH_INTERVAL_US = 2000;

/** The watcher's lines ("<t-ns> <completed> <in-flight>") as readings. */
export function parseReadings(text: string): DiskReading[] {
  return numberColumns(text, 3, 'disk-probe').map(([tNs, completed, inFlight]) => ({
    tNs: tNs!,
    completed: completed!,
    inFlight: inFlight!,
  }));
}

/**
 * The stretches of consecutive readings with I/O in flight at each and the completed count
 * unchanged across them, of at least `minMs`. Idle readings (nothing in flight) end a
 * stretch: an idle disk is not a stalled one.
 */
export function diskStalls(readings: readonly DiskReading[], minMs: number): DiskStall[] {
  const stalls: DiskStall[] = [];
  let first: DiskReading | undefined;
  let last: DiskReading | undefined;
  const close = () => {
    if (first !== undefined && last !== undefined) {
      const ms = (last.tNs - first.tNs) / 1e6;
      if (ms >= minMs) stalls.push({ startNs: first.tNs, ms: Math.round(ms * 10) / 10 });
    }
    first = undefined;
    last = undefined;
  };
  for (const r of readings) {
    if (r.inFlight > 0 && first !== undefined && r.completed === first.completed) {
      last = r;
      continue;
    }
    close();
    if (r.inFlight > 0) {
      first = r;
      last = r;
    }
  }
  close();
  return stalls;
}

/** A window's stalls of 10 ms or more, summed up. */
export function summariseStalls(device: string, readings: readonly DiskReading[]): DiskWindow {
  const stalls = diskStalls(readings, 10);
  return {
    device,
    stallsOver10ms: stalls.length,
    longestStallMs: Math.max(0, ...stalls.map((s) => s.ms)),
    stalledMs: Math.round(stalls.reduce((sum, s) => sum + s.ms, 0)),
  };
}

/**
 * A device number's major and minor, as glibc's major()/minor() take them apart: the major
 * in bits 8–19 and 32 up, the minor in bits 0–7 and 20–31. BigInt, because the high bits
 * are beyond a double's exact integers.
 */
export function majorMinor(dev: bigint): { major: bigint; minor: bigint } {
  return {
    major: ((dev >> 8n) & 0xfffn) | ((dev >> 32n) & ~0xfffn),
    minor: (dev & 0xffn) | ((dev >> 12n) & 0xffffff00n),
  };
}

/**
 * The block device (its /sys/class/block name) holding `path`; undefined where there is none
 * to watch (a container's overlay, a network mount).
 */
export function blockDeviceOf(path: string): string | undefined {
  const { major, minor } = majorMinor(statSync(path, { bigint: true }).dev);
  try {
    return basename(readlinkSync(`/sys/dev/block/${major}:${minor}`));
  } catch {
    return undefined;
  }
}

/**
 * The disk to watch: the one holding BENCH_DISK_PATH (default `/`; on this machine
 * PostgreSQL's WAL, the broker's log and the benchmark's work directory are all on it).
 */
export function benchDisk(): string | undefined {
  return blockDeviceOf(process.env.BENCH_DISK_PATH ?? '/');
}

/**
 * Starts watching `device`; the returned function stops and reads the watcher. Without a
 * device there is nothing to watch and the window has no disk figures.
 */
export function watchDisk(device: string | undefined): () => Promise<DiskWindow | undefined> {
  if (device === undefined) return () => Promise.resolve(undefined);
  const run = startNative(nativeBinary('disk-probe'), ['watch', device, String(DISK_WATCH_INTERVAL_US)]);
  return async () => {
    run.stop();
    return summariseStalls(device, parseReadings(await run.output));
  };
}
