/**
 * The soak's figures from one process's periodic samples (pure; soak.ts takes the samples):
 * heap and RSS slopes by least squares with a verdict against a bound, event-loop delay,
 * GC share; a sample from a /metrics text. Why the bound is what it is: stress-testing/README.md, "Soak".
 */
import { sampleSum } from './window.js';

/** The bound on every memory slope, MiB per hour. */
export const SLOPE_BOUND_MIB_PER_HOUR = 50;
/** The shortest steady span (after the warm-up) a verdict is given on: less holds too few GC cycles. */
export const MIN_SPAN_SEC = 600;

/** One scrape of a process's /metrics, `tSec` after the soak started. */
export interface ProcessSample {
  tSec: number;
  heapUsedBytes: number;
  rssBytes: number;
  /** Memory the process holds by design, bounded by config, off the JS heap: left out of RSS. */
  boundedBytes: number;
  /** Event-loop delay since the previous scrape (prom-client resets its histogram on each). */
  lagP99Ms: number;
  lagMaxMs: number;
  /** GC pause seconds since the process started. */
  gcSeconds: number;
}

export type Verdict = 'within' | 'above' | 'inconclusive';

export interface SlopeFigure {
  slopeMiBPerHour: number;
  /** Standard error of the slope, as if the residuals were independent (GC's sawtooth makes it optimistic). */
  stdErrMiBPerHour: number;
  startMiB: number;
  endMiB: number;
  verdict: Verdict;
  why: string;
}

export interface ProcessFigures {
  /** Samples after the warm-up, the ones every figure is taken from. */
  samples: number;
  spanSec: number;
  heapUsed: SlopeFigure;
  /** RSS less `boundedBytes` (the ETL's dedup windows, which fill up to their configured bound). */
  rss: SlopeFigure;
  boundedEndMiB: number;
  eventLoop: { p99MedianMs: number; p99WorstMs: number; maxMs: number };
  /** Share of wall time spent in GC pauses. */
  gcShare: number;
}

const MIB = 2 ** 20;
const round2 = (v: number) => Math.round(v * 100) / 100;

/** The least-squares line through (x, y): its slope and the slope's standard error. */
export function fitSlope(points: ReadonlyArray<readonly [number, number]>): {
  slope: number;
  stdErr: number;
} {
  const n = points.length;
  if (n < 2) return { slope: NaN, stdErr: NaN };
  const mx = points.reduce((a, [x]) => a + x, 0) / n;
  const my = points.reduce((a, [, y]) => a + y, 0) / n;
  let sxx = 0;
  let sxy = 0;
  for (const [x, y] of points) {
    sxx += (x - mx) ** 2;
    sxy += (x - mx) * (y - my);
  }
  if (sxx === 0) return { slope: NaN, stdErr: NaN };
  const slope = sxy / sxx;
  const residuals = points.reduce((a, [x, y]) => a + (y - my - slope * (x - mx)) ** 2, 0);
  const stdErr = n > 2 ? Math.sqrt(residuals / (n - 2) / sxx) : NaN;
  return { slope, stdErr };
}

/**
 * A memory series (seconds, bytes) against the bound: `above` when even the slope less two
 * standard errors exceeds it, `within` when the slope plus two is at most it, otherwise (or
 * over less than `minSpanSec`) `inconclusive`.
 */
export function slopeVerdict(
  points: ReadonlyArray<readonly [number, number]>,
  opts: { boundMiBPerHour: number; minSpanSec: number },
): SlopeFigure {
  const fit = fitSlope(points.map(([t, bytes]) => [t / 3600, bytes / MIB] as const));
  const spanSec = points.length === 0 ? 0 : points[points.length - 1]![0] - points[0]![0];
  const figure = {
    slopeMiBPerHour: round2(fit.slope),
    stdErrMiBPerHour: round2(fit.stdErr),
    startMiB: round2((points[0]?.[1] ?? NaN) / MIB),
    endMiB: round2((points[points.length - 1]?.[1] ?? NaN) / MIB),
  };
  const bound = opts.boundMiBPerHour;
  if (spanSec < opts.minSpanSec || !Number.isFinite(fit.stdErr)) {
    return {
      ...figure,
      verdict: 'inconclusive',
      why: `${Math.round(spanSec)} s of samples, under ${opts.minSpanSec} s`,
    };
  }
  const [lo, hi] = [fit.slope - 2 * fit.stdErr, fit.slope + 2 * fit.stdErr];
  if (lo > bound) return { ...figure, verdict: 'above', why: `slope − 2 SE ${round2(lo)} > ${bound} MiB/h` };
  if (hi <= bound)
    return { ...figure, verdict: 'within', why: `slope + 2 SE ${round2(hi)} ≤ ${bound} MiB/h` };
  return {
    ...figure,
    verdict: 'inconclusive',
    why: `slope ± 2 SE (${round2(lo)}..${round2(hi)}) straddles ${bound} MiB/h`,
  };
}

function median(sorted: number[]): number {
  return sorted.length === 0 ? NaN : sorted[Math.floor((sorted.length - 1) / 2)]!;
}

/** A process's figures from its samples after `warmupSec` (the steady state). */
export function processFigures(
  all: readonly ProcessSample[],
  opts: { warmupSec: number; boundMiBPerHour: number; minSpanSec: number },
): ProcessFigures {
  const samples = all.filter((s) => s.tSec >= opts.warmupSec);
  const first = samples[0];
  const last = samples[samples.length - 1];
  const spanSec = first === undefined || last === undefined ? 0 : last.tSec - first.tSec;
  // The first steady sample's delay covers the warm-up's last interval: left out.
  const p99s = samples
    .slice(1)
    .map((s) => s.lagP99Ms)
    .sort((a, b) => a - b);
  const gc = first === undefined || last === undefined ? NaN : last.gcSeconds - first.gcSeconds;
  return {
    samples: samples.length,
    spanSec: Math.round(spanSec),
    heapUsed: slopeVerdict(
      samples.map((s) => [s.tSec, s.heapUsedBytes]),
      opts,
    ),
    rss: slopeVerdict(
      samples.map((s) => [s.tSec, s.rssBytes - s.boundedBytes]),
      opts,
    ),
    boundedEndMiB: round2((last?.boundedBytes ?? NaN) / MIB),
    eventLoop: {
      p99MedianMs: round2(median(p99s)),
      p99WorstMs: round2(p99s[p99s.length - 1] ?? NaN),
      maxMs: round2(Math.max(...samples.slice(1).map((s) => s.lagMaxMs))),
    },
    gcShare: spanSec > 0 ? Number((gc / spanSec).toFixed(4)) : NaN,
  };
}

/** Every slope's verdict together: above if one is, within if all are. */
export function overallVerdict(figures: readonly SlopeFigure[]): Verdict {
  if (figures.some((f) => f.verdict === 'above')) return 'above';
  return figures.length > 0 && figures.every((f) => f.verdict === 'within') ? 'within' : 'inconclusive';
}

/** The figures of one /metrics text (event-loop delays less the monitor's 10 ms resolution). */
export function sampleOf(text: string, tSec: number): ProcessSample {
  const ms = (name: string) => Math.max(0, sampleSum(text, name) * 1000 - 10);
  return {
    tSec: Math.round(tSec * 10) / 10,
    heapUsedBytes: sampleSum(text, 'nodejs_heap_size_used_bytes'),
    rssBytes: sampleSum(text, 'process_resident_memory_bytes'),
    boundedBytes: sampleSum(text, 'etl_dedup_window_bytes'),
    lagP99Ms: ms('nodejs_eventloop_lag_p99_seconds'),
    lagMaxMs: ms('nodejs_eventloop_lag_max_seconds'),
    gcSeconds: sampleSum(text, 'nodejs_gc_duration_seconds_sum'),
  };
}

/** A sample as a results-file row (MiB, ms and s, rounded). */
export function sampleRow(s: ProcessSample): number[] {
  const mib = (b: number) => Math.round((b / 2 ** 20) * 10) / 10;
  const r3 = (v: number) => Math.round(v * 1000) / 1000;
  return [
    s.tSec,
    mib(s.heapUsedBytes),
    mib(s.rssBytes),
    mib(s.boundedBytes),
    r3(s.lagP99Ms),
    r3(s.lagMaxMs),
    r3(s.gcSeconds),
  ];
}
