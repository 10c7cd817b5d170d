import { randomUUID } from 'node:crypto';
import autocannon from 'autocannon';

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
  /** Share of one core its JavaScript thread used over the step (1: the event loop never rested). */
  jsThreadBusy?: number;
}

export interface LoadSpec {
  url: string;
  connections: number;
  durationSec: number;
  /** Builds each request (called per request); `token` goes out as a bearer token. */
  request: () => { method: 'GET' | 'POST'; path: string; body?: string; token: string };
  eventsPerRequest: number;
  /** Total requests/s cap across connections (for freshness at a fixed load). */
  overallRate?: number;
}

/** One closed-loop autocannon run; every request is built fresh (unique ids, rotating viewers). */
export async function runLoad(spec: LoadSpec): Promise<LoadResult> {
  const result = await autocannon({
    url: spec.url,
    connections: spec.connections,
    duration: spec.durationSec,
    timeout: 10,
    ...(spec.overallRate === undefined ? {} : { overallRate: spec.overallRate }),
    requests: [
      {
        setupRequest: (req) => {
          const r = spec.request();
          const json = r.body === undefined ? {} : { 'content-type': 'application/json' };
          const headers = { authorization: `Bearer ${r.token}`, ...json };
          return {
            ...req,
            method: r.method,
            path: r.path,
            headers,
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
    ...{ p50Ms: result.latency.p50, p99Ms: result.latency.p99, maxMs: result.latency.max },
    ...{ non2xx: result.non2xx, errors: result.errors, timeouts: result.timeouts },
  };
}

/** Single progress events over 256 films and the viewers' tokens, bodies from a pool built up front. */
export function singleEvents(tokens: string[]): LoadSpec['request'] {
  const films = Array.from({ length: 256 }, () => randomUUID());
  const bodies = Array.from({ length: 2048 }, progressBody);
  let i = 0;
  return () => {
    i++;
    const path = `/api/v1/progress/films/${films[i % films.length]}`;
    return { method: 'POST', path, body: bodies[i % bodies.length], token: tokens[i % tokens.length]! };
  };
}

const event = () => ({
  position_sec: Math.floor(Math.random() * 5000),
  duration_sec: 5400,
  event_id: randomUUID(),
});
export const progressBody = (): string => JSON.stringify(event());
export const batchBody = (size: number): string =>
  JSON.stringify({ events: Array.from({ length: size }, () => ({ film_id: randomUUID(), ...event() })) });
