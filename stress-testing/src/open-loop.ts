import { Agent, request } from 'node:http';
import { percentile, round2 } from './context.js';
import { runNativeOpenLoop } from './native-open-loop.js';

export interface OpenLoopSpec {
  url: string;
  /** Requests per second, sent on a fixed schedule whatever the answers do. */
  rate: number;
  durationSec: number;
  /** Most connections (and so requests in flight) the generator may open. */
  maxConnections: number;
  request: () => { path: string; headers: Record<string, string> };
}

export interface OpenLoopResult {
  rate: number;
  sent: number;
  completed: number;
  achievedPerSec: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  /** Which generator sent the load: `native` (C, default) or `node` (BENCH_LOAD_GENERATOR=node). */
  generator: 'native' | 'node';
  /** CPU the generator itself used per request sent, µs: its share of the same cores. */
  generatorCpuUsPerRequest: number;
  /**
   * How late the generator sent requests, after their due time (p99 and max, ms): its own
   * stalls on the shared cores, or every connection busy waiting for answers. Part of the
   * latencies above; a high figure with few connections busy means the measuring
   * instrument stalled, not the server.
   */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
}

/** The measured answers of one run, in the shape every bench reports. */
export function summarise(
  spec: Pick<OpenLoopSpec, 'rate'>,
  /** latencies: answered requests only (any status), ms from their due time. */
  run: {
    sent: number;
    latencies: number[];
    /** ms from due time to the request going out, every request sent. */
    sendLags: number[];
    non2xx: number;
    errors: number;
    elapsedSec: number;
    cpuUs: number;
  },
  generator: OpenLoopResult['generator'],
): OpenLoopResult {
  const latencies = run.latencies.sort((a, b) => a - b);
  const sendLags = run.sendLags.sort((a, b) => a - b);
  const ms = round2;
  return {
    rate: spec.rate,
    sent: run.sent,
    completed: latencies.length,
    achievedPerSec: Math.round((latencies.length - run.non2xx) / run.elapsedSec),
    p50Ms: ms(percentile(latencies, 50)),
    p90Ms: ms(percentile(latencies, 90)),
    p99Ms: ms(percentile(latencies, 99)),
    p999Ms: ms(percentile(latencies, 99.9)),
    maxMs: ms(latencies[latencies.length - 1] ?? Number.NaN),
    non2xx: run.non2xx,
    errors: run.errors,
    generator,
    generatorCpuUsPerRequest: Math.round(run.cpuUs / Math.max(1, run.sent)),
    sendLagP99Ms: ms(percentile(sendLags, 99)),
    sendLagMaxMs: ms(sendLags[sendLags.length - 1] ?? Number.NaN),
  };
}

/**
 * Runs the load with the C generator (`native/open-loop.c`, built with gcc on first use),
 * or with the Node one when BENCH_LOAD_GENERATOR=node. Same schedule, same measure.
 */
export function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const generator = process.env.BENCH_LOAD_GENERATOR ?? 'native';
  if (generator === 'native') return runNativeOpenLoop(spec);
  if (generator === 'node') return runNodeOpenLoop(spec);
  throw new Error(`BENCH_LOAD_GENERATOR must be native or node, not ${generator}`);
}

/**
 * An open-loop load generator: request i is due at start + i/rate and its latency is
 * measured from that due time, so a slow answer cannot hold back the next requests and
 * hide its own cost (coordinated omission). NOTE: autocannon's `overallRate` spends each
 * connection's per-second quota in a burst at the start of every second, which measures
 * burst queueing, not a steady rate (p99 grew with the connection count at the same rate).
 */
async function runNodeOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxConnections });
  const latencies: number[] = [];
  const sendLags: number[] = [];
  let sent = 0;
  let non2xx = 0;
  let errors = 0;
  const total = Math.round(spec.rate * spec.durationSec);
  const start = performance.now();
  const cpu0 = process.cpuUsage();
  const inflight = new Set<Promise<void>>();

  const fire = (dueAt: number) => {
    const r = spec.request();
    sendLags.push(performance.now() - dueAt);
    const p = new Promise<void>((resolve) => {
      const req = request(
        { host: target.hostname, port: target.port, path: r.path, method: 'GET', headers: r.headers, agent },
        (res) => {
          res.resume();
          res.on('end', () => {
            if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
            latencies.push(performance.now() - dueAt);
            resolve();
          });
        },
      );
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end();
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };

  await new Promise<void>((done) => {
    const tick = () => {
      const now = performance.now();
      const due = Math.min(total, Math.floor(((now - start) / 1000) * spec.rate) + 1);
      while (sent < due) fire(start + (sent++ * 1000) / spec.rate);
      if (sent >= total) done();
      // 1 ms ticks: at most a millisecond late, without spinning a core the API needs.
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  const elapsedSec = (performance.now() - start) / 1000;
  agent.destroy();
  const cpu = process.cpuUsage(cpu0);
  const cpuUs = cpu.user + cpu.system;
  return summarise(spec, { sent, latencies, sendLags, non2xx, errors, elapsedSec, cpuUs }, 'node');
}
