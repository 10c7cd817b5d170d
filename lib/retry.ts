export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Share of the delay that is randomised (0 none, 1 full jitter). */
  jitter?: number;
}

/**
 * Capped exponential backoff with jitter: attempt 0 waits about initialMs, each further
 * attempt doubles, never past maxMs. Jitter spreads retries of many consumers so they do
 * not hammer a recovering ClickHouse in lockstep.
 */
export function backoffDelay(
  attempt: number,
  opts: BackoffOptions,
  random: () => number = Math.random,
): number {
  const jitter = opts.jitter ?? 0.5;
  const base = Math.min(opts.maxMs, opts.initialMs * 2 ** Math.min(attempt, 30));
  return Math.round(base * (1 - jitter) + base * jitter * random());
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
