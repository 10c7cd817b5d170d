/** When to try a refused or failed send again: pure, so its bounds are unit-tested. */

export interface BackoffOptions {
  /** Ceiling of the first retry's delay. */
  baseMs: number;
  /** Ceiling of any retry's delay. */
  maxMs: number;
}

/**
 * Delay before retry `attempt` (0 for the first): uniform in [ceiling/2, ceiling], where the
 * ceiling doubles per attempt up to maxMs. NOTE: the random half spreads players that failed
 * together (one outage) so they do not all come back in the same second; the fixed half
 * keeps the delays really growing.
 */
export function backoffDelayMs(attempt: number, opts: BackoffOptions, random: () => number): number {
  const ceiling = Math.min(opts.maxMs, opts.baseMs * 2 ** Math.min(Math.max(attempt, 0), 30));
  return Math.round(ceiling / 2 + (random() * ceiling) / 2);
}

/** Longest Retry-After obeyed: a wrong header must not park a player's queue for hours. */
export const MAX_RETRY_AFTER_MS = 10 * 60_000;

/**
 * A Retry-After header (RFC 9110 §10.2.3: delay-seconds or an HTTP-date) in milliseconds
 * from now, capped at MAX_RETRY_AFTER_MS; undefined when absent or unreadable.
 */
export function parseRetryAfterMs(value: string | null | undefined, nowMs: number): number | undefined {
  if (value === null || value === undefined) return undefined;
  const text = value.trim();
  if (/^\d+$/.test(text)) return Math.min(Number(text) * 1000, MAX_RETRY_AFTER_MS);
  // An HTTP-date always names GMT; without it Date.parse would guess at odd strings.
  if (!text.endsWith('GMT')) return undefined;
  const at = Date.parse(text);
  if (Number.isNaN(at)) return undefined;
  return Math.min(Math.max(at - nowMs, 0), MAX_RETRY_AFTER_MS);
}

/** Never sooner than the server asked, nor sooner than the backoff. */
export function retryDelayMs(
  attempt: number,
  retryAfterMs: number | undefined,
  opts: BackoffOptions,
  random: () => number,
): number {
  return Math.max(retryAfterMs ?? 0, backoffDelayMs(attempt, opts, random));
}
