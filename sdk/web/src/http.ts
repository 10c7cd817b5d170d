import { parseRetryAfterMs } from './backoff.js';

/** The parts of fetch the tracker uses: the browser's, or a fake in unit tests. */
export interface ResponseLike {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  json(): Promise<unknown>;
}
export interface RequestInitLike {
  method: 'GET' | 'POST';
  headers: Record<string, string>;
  body?: string;
  keepalive?: boolean;
}
export type FetchLike = (url: string, init: RequestInitLike) => Promise<ResponseLike>;

/** What to do with a batch after the server's answer (or no answer). */
export type SendOutcome =
  | { kind: 'accepted' }
  /** 429, 5xx or no answer: keep the events, try again later. */
  | { kind: 'retry'; status: number | undefined; retryAfterMs: number | undefined }
  /** Any other 4xx (401 after a token refresh): sending the same batch again cannot succeed. */
  | { kind: 'rejected'; status: number; body?: unknown };

export function classify(status: number, retryAfter: string | null, nowMs: number): SendOutcome {
  if (status >= 200 && status < 300) return { kind: 'accepted' };
  if (status === 429 || status === 503)
    return { kind: 'retry', status, retryAfterMs: parseRetryAfterMs(retryAfter, nowMs) };
  if (status >= 400 && status < 500) return { kind: 'rejected', status };
  return { kind: 'retry', status, retryAfterMs: undefined };
}

/** The body of a batch request: items are already JSON, so they are joined, not re-encoded. */
export function batchBody(items: readonly string[], accessToken?: string): string {
  const token = accessToken === undefined ? '' : `"access_token":${JSON.stringify(accessToken)},`;
  return `{${token}"events":[${items.join(',')}]}`;
}

export function apiUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path}`;
}
