import { Agent, request, type IncomingHttpHeaders } from 'node:http';
import { percentile, round2 } from './context.js';

export interface OpenLoopSpec {
  url: string;
  /** Requests per second, sent on a fixed schedule whatever the answers do. */
  rate: number;
  durationSec: number;
  /** Most connections (and so requests in flight) the generator may open. */
  maxConnections: number;
  /**
   * Seconds at the same rate, on the same connections, before the measured ones; their answers
   * are not counted. Without it the first second measures the generator opening its
   * connections in a burst, not the server.
   */
  warmupSec?: number;
  /** Each request: GET unless `method` says otherwise; `onStatus` hears its answer's status and headers. */
  request: () => OpenLoopRequest;
}

export interface OpenLoopRequest {
  path: string;
  headers: Record<string, string>;
  method?: 'GET' | 'POST';
  body?: string;
  onStatus?: (status: number, headers: IncomingHttpHeaders) => void;
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
  /** CPU the generator itself used per request sent, µs: its share of the same cores. */
  generatorCpuUsPerRequest: number;
  /** How late after their due time requests went out: the instrument's own stalls, or every connection busy. */
  sendLagP99Ms: number;
  sendLagMaxMs: number;
}

/**
 * An open-loop load generator: request i is due at start + i/rate and its latency is
 * measured from that due time, so a slow answer cannot hold back the next requests and
 * hide its own cost (coordinated omission). NOTE: autocannon's `overallRate` spends each
 * connection's per-second quota in a burst at the start of every second, which measures
 * burst queueing, not a steady rate.
 */
export async function runOpenLoop(spec: OpenLoopSpec): Promise<OpenLoopResult> {
  const agent = new Agent({ keepAlive: true, maxSockets: spec.maxConnections });
  try {
    if (spec.warmupSec !== undefined && spec.warmupSec > 0)
      await drive({ ...spec, durationSec: spec.warmupSec }, agent);
    return await drive(spec, agent);
  } finally {
    agent.destroy();
  }
}

async function drive(spec: OpenLoopSpec, agent: Agent): Promise<OpenLoopResult> {
  const target = new URL(spec.url);
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
      const { path, headers, method = 'GET' } = r;
      const options = { host: target.hostname, port: target.port, path, headers, method, agent };
      const req = request(options, (res) => {
        res.resume();
        res.on('end', () => {
          if (res.statusCode === undefined || res.statusCode < 200 || res.statusCode >= 300) non2xx++;
          r.onStatus?.(res.statusCode ?? 0, res.headers);
          latencies.push(performance.now() - dueAt);
          resolve();
        });
      });
      req.on('error', () => {
        errors++;
        resolve();
      });
      req.end(r.body);
    });
    inflight.add(p);
    void p.then(() => inflight.delete(p));
  };

  await new Promise<void>((done) => {
    const tick = () => {
      const due = Math.min(total, Math.floor(((performance.now() - start) / 1000) * spec.rate) + 1);
      while (sent < due) fire(start + (sent++ * 1000) / spec.rate);
      if (sent >= total) done();
      // 1 ms ticks: at most a millisecond late, without spinning a core the API needs.
      else setTimeout(tick, 1);
    };
    tick();
  });
  await Promise.all(inflight);
  const elapsedSec = (performance.now() - start) / 1000;
  const cpu = process.cpuUsage(cpu0);
  latencies.sort((a, b) => a - b);
  sendLags.sort((a, b) => a - b);
  return {
    rate: spec.rate,
    sent,
    completed: latencies.length,
    achievedPerSec: Math.round((latencies.length - non2xx) / elapsedSec),
    p50Ms: round2(percentile(latencies, 50)),
    p90Ms: round2(percentile(latencies, 90)),
    p99Ms: round2(percentile(latencies, 99)),
    p999Ms: round2(percentile(latencies, 99.9)),
    maxMs: round2(latencies[latencies.length - 1] ?? Number.NaN),
    non2xx,
    errors,
    generatorCpuUsPerRequest: Math.round((cpu.user + cpu.system) / Math.max(1, sent)),
    sendLagP99Ms: round2(percentile(sendLags, 99)),
    sendLagMaxMs: round2(sendLags[sendLags.length - 1] ?? Number.NaN),
  };
}
