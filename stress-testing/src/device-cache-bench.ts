/**
 * npm run bench:device-cache [-- --devices 100000]: what the API's device cache costs the heap
 * and the garbage collector when full. Fills the real `Lru` with devices in two experiments,
 * keyed by flat strings shaped like device tokens (as HTTP headers arrive), and measures:
 *   - heap bytes per cached device (keys and the LRU's table included), after full GCs;
 *   - a forced full GC's time with the cache live (median of 10): every major GC marks it.
 * Both for the DeviceState the API uses (one flat array of numbers, device-state.ts) and for
 * the object holding a Map it replaced, built the same way, as the baseline. Prints a table
 * and writes results/device-cache-<date>.json.
 */
import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deviceState, withStored } from '../../api/src/experiments/device-state.js';
import { Lru } from '../../api/src/lru.js';
import { ROOT } from './proc.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

interface Layout {
  name: string;
  make: (firstSeenUs: number, positions: [number, number]) => unknown;
}

const LAYOUTS: Layout[] = [
  {
    name: 'flat array (DeviceState)',
    // Built as the API builds it (device-reader.ts, one row per experiment).
    make: (firstSeenUs, [a, b]) => withStored(withStored(deviceState(firstSeenUs), 1, a), 2, b),
  },
  {
    name: 'object + Map (before 2026-11-23)',
    make: (firstSeenUs, [a, b]) => ({
      firstSeenUs,
      stored: new Map([
        [1, a],
        [2, b],
      ]),
    }),
  },
];

/** A flat one-byte string, as a header value arrives (a template literal would be a cons string). */
function token(): string {
  return Buffer.from(`dev-${randomUUID()}`).toString('latin1');
}

function fullGcs(): void {
  gc();
  gc();
}

function measure(layout: Layout, devices: number): { bytesPerDevice: number; fullGcMedianMs: number } {
  fullGcs();
  const before = process.memoryUsage().heapUsed;
  const cache = new Lru<string, unknown>(devices);
  const base = Date.now() * 1000;
  for (let i = 0; i < devices; i++) cache.set(token(), layout.make(base + i, [i % 3, i % 4]));
  fullGcs();
  const after = process.memoryUsage().heapUsed;
  const times: number[] = [];
  for (let k = 0; k < 10; k++) {
    const t = performance.now();
    gc();
    times.push(performance.now() - t);
  }
  times.sort((x, y) => x - y);
  // Keeps the cache alive up to here: a dead one would be collected before it is measured.
  if (cache.size !== devices) throw new Error(`cache holds ${cache.size}, expected ${devices}`);
  return {
    bytesPerDevice: Math.round((after - before) / devices),
    fullGcMedianMs: Math.round(times[5]! * 10) / 10,
  };
}

function main(): void {
  const { values } = parseArgs({ options: { devices: { type: 'string', default: '100000' } } });
  const devices = Number(values.devices);
  const rows: Array<{ layout: string; bytesPerDevice: number; fullGcMedianMs: number }> = [];
  // Each layout twice, interleaved: the second pass shows how steady the figures are.
  for (const pass of [1, 2]) {
    for (const layout of LAYOUTS) {
      const m = measure(layout, devices);
      rows.push({ layout: layout.name, ...m });
      process.stdout.write(
        `pass ${pass} ${layout.name}: ${m.bytesPerDevice} bytes/device, full GC median ${m.fullGcMedianMs} ms (${devices.toLocaleString('en')} devices)\n`,
      );
    }
  }
  const results = {
    date: new Date().toISOString(),
    machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, node: process.version },
    devices,
    rows,
  };
  const dir = join(ROOT, 'stress-testing', 'results');
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, `device-cache-${results.date.slice(0, 10)}.json`),
    `${JSON.stringify(results, null, 2)}\n`,
  );
}

main();
