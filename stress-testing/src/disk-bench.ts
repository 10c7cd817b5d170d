/**
 * npm run bench:disk [-- --windows 6 --seconds 10 --flushes 1000 --arrivals 2000]: the
 * disk's own part in a commit's latency on this machine, with nothing of ours running.
 * In each window the C probe (native/disk-probe.c) writes 8 KiB and fdatasync()s it
 * `--flushes` times a second (about the rate PostgreSQL flushed its WAL at in the
 * new-device windows of bench:experiments), while its watcher reads the disk's counters
 * every 2 ms for stalls (I/O in flight, none completing). From the flushes it derives the
 * floor of a commit lane (flush-lane.ts): requests arriving at `--arrivals` a second,
 * each answered when the next flush after it ends. A window whose lane p99 is over 10 ms
 * is one no synchronously durable write path could have answered within 10 ms at p99 on
 * this disk, whatever the code.
 *
 * The file lives under BENCH_DISK_PATH (default: the system temp directory), and the
 * watcher watches the disk that holds it. Prints a table and writes
 * results/disk-<date>.json and results/disk-latest.json (`-quick` for --quick).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import {
  blockDeviceOf,
  parseReadings,
  summariseStalls,
  DISK_WATCH_INTERVAL_US,
  type DiskWindow,
} from './disk-probe.js';
import { flushLatencies, laneWaits, parseFlushSpans, type LaneWaits } from './flush-lane.js';
import { nativeBinary, startNative } from './native-build.js';
import { ROOT } from './proc.js';
import { currentCommit } from './run-history.js';

interface DiskBenchWindow {
  flushes: number;
  flush: { p50Ms: number; p99Ms: number; maxMs: number };
  stalls: DiskWindow;
  lane: LaneWaits;
}

async function measure(
  device: string,
  file: string,
  flushesPerSec: number,
  seconds: number,
  arrivalsPerSec: number,
): Promise<DiskBenchWindow> {
  const probe = nativeBinary('disk-probe');
  const watcher = startNative(probe, ['watch', device, String(DISK_WATCH_INTERVAL_US)]);
  const flusher = startNative(probe, ['flush', file, String(flushesPerSec), String(seconds)]);
  const spans = parseFlushSpans(await flusher.output);
  watcher.stop();
  const stalls = summariseStalls(device, parseReadings(await watcher.output));
  return {
    flushes: spans.length,
    flush: flushLatencies(spans),
    stalls,
    lane: laneWaits(spans, arrivalsPerSec),
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      quick: { type: 'boolean', default: false },
      out: { type: 'string' },
      windows: { type: 'string' },
      seconds: { type: 'string' },
      flushes: { type: 'string', default: '1000' },
      arrivals: { type: 'string', default: '2000' },
    },
  });
  const quick = values.quick;
  const windows = Number(values.windows ?? (quick ? 1 : 6));
  const seconds = Number(values.seconds ?? (quick ? 2 : 10));
  const flushesPerSec = Number(values.flushes);
  const arrivalsPerSec = Number(values.arrivals);
  const base = process.env.BENCH_DISK_PATH ?? tmpdir();
  const device = blockDeviceOf(base);
  if (device === undefined)
    throw new Error(`bench:disk: no block device holds ${base} (set BENCH_DISK_PATH)`);
  const dir = mkdtempSync(join(base, 'sa-bench-disk-'));
  const results: DiskBenchWindow[] = [];
  const log = (msg: string) => process.stderr.write(`[bench:disk] ${msg}\n`);
  log(`${device} (holding ${base}): ${windows} window(s) of ${seconds} s, ${flushesPerSec} flushes/s`);
  try {
    for (let i = 0; i < windows; i++) {
      const w = await measure(device, join(dir, 'wal'), flushesPerSec, seconds, arrivalsPerSec);
      results.push(w);
      log(
        `  window ${i + 1}: ${w.flushes} flushes, p50 ${w.flush.p50Ms} p99 ${w.flush.p99Ms} max ${w.flush.maxMs} ms; ` +
          `disk stalls ≥ 10 ms ${w.stalls.stallsOver10ms} (longest ${w.stalls.longestStallMs}, ${w.stalls.stalledMs} ms in all); ` +
          `lane at ${arrivalsPerSec}/s p99 ${w.lane.p99Ms} ms, ${(w.lane.over10msShare * 100).toFixed(2)}% over 10 ms`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const lanesOver = results.filter((w) => w.lane.p99Ms > 10).length;
  log(`lane p99 over 10 ms in ${lanesOver} of ${results.length} window(s)`);
  const out = {
    date: new Date().toISOString(),
    commit: currentCommit(),
    cpus: cpus().length,
    device,
    flushesPerSec,
    arrivalsPerSec,
    seconds,
    windows: results,
    lanesOverTarget: lanesOver,
  };
  const outDir = join(values.out ?? join(ROOT, 'stress-testing'), 'results');
  mkdirSync(outDir, { recursive: true });
  const suffix = quick ? '-quick' : '';
  const json = `${JSON.stringify(out, null, 2)}\n`;
  writeFileSync(join(outDir, `disk-${out.date.slice(0, 10)}${suffix}.json`), json);
  writeFileSync(join(outDir, `disk-latest${suffix}.json`), json);
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:disk failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exit(1);
});
