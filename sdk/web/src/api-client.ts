import type { Stream } from './batch.js';
import { apiUrl, batchBody, classify, type FetchLike, type ResponseLike, type SendOutcome } from './http.js';
import type { TokenSource } from './token.js';

export interface ApiClientDeps {
  url: string;
  fetch: FetchLike;
  tokens: TokenSource;
  now: () => number;
}

export const BATCH_PATHS: Record<Stream, string> = {
  progress: '/api/v1/progress/batch',
  event: '/api/v1/events/batch',
};

/**
 * A request with the bearer token; on 401 the token is fetched again through getToken and
 * the request sent once more (an expired token is the usual 401 of a long session).
 */
export async function authorized(
  deps: ApiClientDeps,
  path: string,
  init: { method: 'GET' | 'POST'; body?: string },
): Promise<ResponseLike> {
  const send = (token: string) =>
    deps.fetch(apiUrl(deps.url, path), {
      method: init.method,
      headers: {
        Authorization: `Bearer ${token}`,
        ...(init.body === undefined ? {} : { 'Content-Type': 'application/json' }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
    });
  const res = await send(await deps.tokens.get());
  if (res.status !== 401) return res;
  const fresh = await deps.tokens.refresh();
  return fresh === undefined ? res : send(fresh);
}

/** Posts one batch; what to do next follows from the answer (or its absence). */
export async function postBatch(
  deps: ApiClientDeps,
  stream: Stream,
  items: readonly string[],
): Promise<SendOutcome> {
  let res: ResponseLike;
  try {
    res = await authorized(deps, BATCH_PATHS[stream], { method: 'POST', body: batchBody(items) });
  } catch {
    // No answer (offline, DNS, CORS, getToken failed): the events may or may not have
    // arrived; their event_ids make sending them again safe.
    return { kind: 'retry', status: undefined, retryAfterMs: undefined };
  }
  const outcome = classify(res.status, res.headers.get('Retry-After'), deps.now());
  if (outcome.kind === 'rejected') return { ...outcome, body: await bodyOf(res) };
  return outcome;
}

export async function bodyOf(res: ResponseLike): Promise<unknown> {
  try {
    return await res.json();
  } catch {
    return undefined;
  }
}
