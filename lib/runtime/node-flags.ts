import type { Logger } from '../log.js';

/**
 * The V8 flags every process that serves the API starts with: `npm run start:api`,
 * `npm start`, the image's CMD and the benchmarks (a unit test holds them to this list).
 * They can only be given at startup, so they live in the launchers, not in config.
 *
 * Why (architecture/adr/0006, "Major GC set the tail"): at 2,000 requests/s on 2 cores,
 * 98% of the answers over 10 ms came within 250 ms of a major GC.
 * - `--max-semi-space-size=64`: a young generation big enough that the objects of
 *   requests still in flight (exposures waiting for their batch, produce requests) die
 *   there instead of being promoted. Major GCs went from every 4–7 s to every ~20 s, for
 *   ~90 MiB more heap.
 * - `--heap-growing-percent=100`: the next major GC when the old generation has doubled
 *   since the last one. V8 picked ~1.2× here (its model sees only how cheap a GC is, not the
 *   latency it costs next to the event loop): a major GC every ~5 s while returning devices
 *   filled the device cache. Doubling: one in 60 s, for an old generation up to twice the
 *   live heap.
 * - `--v8-pool-size=1`: one V8 background thread, which is one core minus the event loop's
 *   core on a 2-core replica (Node's default is 4 whatever the cores). With 4, concurrent
 *   marking ran 4 threads next to the event loop and pushed it off its core for ~100 ms.
 *   Give a replica with more cores its cores minus one.
 */
export const API_NODE_FLAGS: readonly string[] = [
  '--max-semi-space-size=64',
  '--heap-growing-percent=100',
  '--v8-pool-size=1',
];

/** The V8 flag names (`--name`) of API_NODE_FLAGS this process was started without. */
export function missingNodeFlags(
  wanted: readonly string[],
  execArgv: readonly string[],
  nodeOptions: string | undefined,
): string[] {
  const given = [...(nodeOptions ?? '').split(/\s+/), ...execArgv].filter((a) => a.startsWith('--'));
  // Any value counts: an operator who sized the pool for a bigger replica chose it.
  const name = (flag: string) => flag.split('=')[0]!.replaceAll('_', '-');
  const names = new Set(given.map(name));
  return wanted.map(name).filter((n) => !names.has(n));
}

/** At startup of a process that serves the API: says so when it runs without those flags. */
export function warnOnMissingApiNodeFlags(log: Logger): void {
  const missing = missingNodeFlags(API_NODE_FLAGS, process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0) log.warn({ missing, expected: API_NODE_FLAGS }, 'api_node_flags_missing');
}
