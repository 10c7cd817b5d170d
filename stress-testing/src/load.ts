import { randomUUID } from 'node:crypto';
import autocannon, { type Result } from 'autocannon';

export interface LoadResult {
  connections: number;
  requestsPerSec: number;
  eventsPerSec: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  non2xx: number;
  errors: number;
  timeouts: number;
  /** CPU of the process under test per 1,000 accepted events, where the caller measured it. */
  cpuMsPer1kEvents?: number;
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationSec: number;
  /** Builds each request's method/path/body; called per request. */
  request: () => {
    method: 'GET' | 'POST';
    path: string;
    body?: string;
    /** Bearer token, if the request carries one. */
    token?: string;
    headers?: Record<string, string>;
  };
  eventsPerRequest: number;
  /** Total requests/s cap across connections (for freshness at a fixed load). */
  overallRate?: number;
}

/** One autocannon run; every request is built fresh (unique ids, rotating viewers). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const result: Result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSec,
    pipelining: 1,
    timeout: 10,
    ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
    requests: [
      {
        setupRequest: (req) => {
          const r = spec.request();
          return {
            ...req,
            method: r.method,
            path: r.path,
            headers: {
              ...(r.token === undefined ? {} : { authorization: `Bearer ${r.token}` }),
              ...(r.body === undefined ? {} : { 'content-type': 'application/json' }),
              ...r.headers,
            },
            ...(r.body === undefined ? {} : { body: r.body }),
          };
        },
      },
    ],
  });
  const ok = result.requests.total - result.non2xx;
  return {
    connections: spec.connections,
    requestsPerSec: Math.round(ok / spec.durationSec),
    eventsPerSec: Math.round((ok * spec.eventsPerRequest) / spec.durationSec),
    p50Ms: result.latency.p50,
    p99Ms: result.latency.p99,
    maxMs: result.latency.max,
    non2xx: result.non2xx,
    errors: result.errors,
    timeouts: result.timeouts,
  };
}

export function progressBody(): string {
  return JSON.stringify({
    position_sec: Math.floor(Math.random() * 5000),
    duration_sec: 5400,
    event_id: randomUUID(),
  });
}

export function batchBody(size: number): string {
  return JSON.stringify({
    events: Array.from({ length: size }, () => ({
      film_id: randomUUID(),
      position_sec: Math.floor(Math.random() * 5000),
      duration_sec: 5400,
      event_id: randomUUID(),
    })),
  });
}
