/**
 * What a commit lane could do on a disk at best: given the spans of back-to-back flushes
 * measured on it (write + fdatasync, as a WAL commit does), how long requests arriving at
 * a fixed rate would wait if each one's answer needed the next flush to start after it to
 * finish, and nothing else cost any time. That is the shape of a new device's answer (its
 * registration commits in the next group; architecture/adr/0006), so the lane's p99 is a
 * floor under the endpoint's on the same disk.
 */
import { percentile, round2 } from './context.js';
import { numberColumns } from './native-build.js';

/** One flush: start and end, ns (monotonic). */
export interface FlushSpan {
  startNs: number;
  endNs: number;
}

export interface LaneWaits {
  arrivals: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  /** Share of arrivals that waited over 10 ms. */
  over10msShare: number;
}

/** The probe's flush lines ("<start-ns> <end-ns>") as spans, in order. */
export function parseFlushSpans(text: string): FlushSpan[] {
  return numberColumns(text, 2, 'disk-probe').map(([startNs, endNs]) => {
    if (endNs! < startNs!) throw new Error(`disk-probe: unreadable flush ${startNs} ${endNs}`);
    return { startNs: startNs!, endNs: endNs! };
  });
}

/**
 * Arrivals every 1/ratePerSec from the first flush's start to the last one's; each waits
 * from its arrival to the end of the first flush that starts at or after it.
 */
export function laneWaits(spans: readonly FlushSpan[], ratePerSec: number): LaneWaits {
  if (spans.length < 2) throw new Error('laneWaits: needs at least two flushes');
  const stepNs = 1e9 / ratePerSec;
  const first = spans[0]!.startNs;
  const last = spans[spans.length - 1]!.startNs;
  const waits: number[] = [];
  let next = 0;
  for (let t = first; t <= last; t += stepNs) {
    while (spans[next]!.startNs < t) next++;
    waits.push((spans[next]!.endNs - t) / 1e6);
  }
  waits.sort((a, b) => a - b);
  return {
    arrivals: waits.length,
    p50Ms: round2(percentile(waits, 50)),
    p99Ms: round2(percentile(waits, 99)),
    maxMs: round2(waits[waits.length - 1]!),
    over10msShare: waits.filter((w) => w > 10).length / waits.length,
  };
}

/** The flushes' own latencies, ms: p50, p99, max. */
export function flushLatencies(spans: readonly FlushSpan[]): { p50Ms: number; p99Ms: number; maxMs: number } {
  const ms = spans.map((s) => (s.endNs - s.startNs) / 1e6).sort((a, b) => a - b);
  return {
    p50Ms: round2(percentile(ms, 50)),
    p99Ms: round2(percentile(ms, 99)),
    maxMs: round2(ms[ms.length - 1] ?? 0),
  };
}
