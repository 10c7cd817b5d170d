/** Limits on client-supplied timestamps relative to the server clock. */
export interface TimeLimits {
  maxPastMs: number;
  maxFutureMs: number;
}

/** `null` when acceptable, else why not. */
export function checkOccurredAt(occurredMs: number, nowMs: number, limits: TimeLimits): string | null {
  if (occurredMs > nowMs + limits.maxFutureMs) return `is more than ${limits.maxFutureMs} ms in the future`;
  if (occurredMs < nowMs - limits.maxPastMs) return `is more than ${limits.maxPastMs} ms in the past`;
  return null;
}

/** ISO-8601 UTC with milliseconds, the contract's one time format. */
export function toUtcIso(ms: number): string {
  return new Date(ms).toISOString();
}

/**
 * ClickHouse DateTime64(3) text form ('YYYY-MM-DD hh:mm:ss.sss') from the contract's ISO
 * form. NOTE: string surgery instead of Date round-trips: it runs once per row in the ETL
 * hot loop and the input is always our own toISOString() output.
 */
export function isoToClickHouse(iso: string): string {
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}
