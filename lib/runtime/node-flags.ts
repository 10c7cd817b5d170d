import type { Logger } from '../log.js';

/**
 * The V8 flags every process that serves the API starts with: `npm start`,
 * `npm run start:api`, `npm run start:standalone`, the image's CMD and the benchmarks (a
 * unit test holds the launchers to this list; docs/configuration.md is generated from it).
 * V8 reads them only at startup, so they live in the launchers, not in config.
 *
 * Why: on a replica of few cores, the API's latency tail is set by major GCs, whose
 * concurrent marking takes the event loop's core (architecture/adr/0006, "Major GC set the tail").
 */
export const API_NODE_FLAG_DOCS: readonly { flag: string; why: string }[] = [
  {
    flag: '--max-semi-space-size=64',
    why:
      'A young generation big enough that the objects of requests still in flight (exposures waiting for ' +
      'their batch, produce requests) die there instead of being promoted: major GCs every ~20 s instead ' +
      'of every 4–7 s, for ~90 MiB more heap.',
  },
  {
    flag: '--heap-growing-percent=100',
    why:
      'The next major GC when the old generation has doubled since the last one. V8 picked ~1.2× (its ' +
      'model sees how cheap a GC is, not the latency it costs next to the event loop): a major GC every ' +
      '~5 s while returning devices filled the device cache; doubled, one a minute, for an old ' +
      'generation up to twice the live heap.',
  },
  {
    flag: '--no-memory-reducer',
    why:
      "No full GC because the allocation rate dropped. V8's memory reducer collects in a lull to give memory " +
      'back; on a server the lull ends in a burst, and the GC lands on it: in the experiments bench the one ' +
      'major GC in a new-device window was this GC, started in the pause before it. The heap keeps its ' +
      'high-water mark through a lull instead.',
  },
  {
    flag: '--v8-pool-size=1',
    why:
      "V8's background threads: the replica's cores minus the event loop's one (Node's default is 4 " +
      'whatever the cores). With 4 on 2 cores, concurrent marking pushed the event loop off its core for ' +
      '~100 ms. Give a replica with more cores its cores minus one.',
  },
];

export const API_NODE_FLAGS: readonly string[] = API_NODE_FLAG_DOCS.map((f) => f.flag);

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
export function warnOnMissingApiNodeFlags(
  log: Pick<Logger, 'warn'>,
  execArgv: readonly string[] = process.execArgv,
  nodeOptions: string | undefined = process.env.NODE_OPTIONS,
): void {
  const missing = missingNodeFlags(API_NODE_FLAGS, execArgv, nodeOptions);
  if (missing.length > 0) log.warn({ missing, expected: API_NODE_FLAGS }, 'api_node_flags_missing');
}
