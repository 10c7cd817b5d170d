import { z } from 'zod';
import { isIsoUtc } from './fast-checks.js';

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

let lastMs = Number.NaN;
let lastIso = '';

/**
 * ISO-8601 UTC with milliseconds, the contract's one time format. Remembers the last
 * answer: every event of a batch request carries the same received_at, and formatting it
 * per event showed in the batch path's CPU profile.
 */
export function toUtcIso(ms: number): string {
  if (ms !== lastMs) {
    lastIso = new Date(ms).toISOString();
    lastMs = ms;
  }
  return lastIso;
}

/**
 * Whether an ISO-8601 time has non-zero digits below the millisecond: stored to the
 * millisecond, it would be changed from what was sent, so it is refused instead.
 */
export function hasSubMillisecond(v: string): boolean {
  if (v.charCodeAt(19) !== 0x2e) return false; // '.'
  // The fraction's digits only: what follows them (`Z`, `+02:00`) is the zone.
  for (let i = 20; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
    if (i >= 23 && c !== 0x30) return true;
  }
  return false;
}

/**
 * A subset of occurredAtField without zod: UTC (`Z`) only, and inside the limits by a
 * second, so a value the schema would judge a moment later, at the edge, is left to it.
 */
export function isOccurredAtInside(v: unknown, limits: TimeLimits, now: () => number): boolean {
  if (!isIsoUtc(v) || hasSubMillisecond(v)) return false;
  const margin = { maxPastMs: limits.maxPastMs - 1000, maxFutureMs: limits.maxFutureMs - 1000 };
  return checkOccurredAt(Date.parse(v), now(), margin) === null;
}

/** The optional client `occurred_at` of every event: ISO-8601 with a zone, within the limits. */
export function occurredAtField(limits: TimeLimits, now: () => number) {
  return z.iso
    .datetime({
      offset: true,
      message: 'must be an ISO-8601 date-time with a zone, e.g. 2026-01-31T20:15:00Z',
    })
    .superRefine((value, ctx) => {
      if (hasSubMillisecond(value)) {
        ctx.addIssue({ code: 'custom', message: 'occurred_at must not be more precise than a millisecond' });
        return;
      }
      const problem = checkOccurredAt(Date.parse(value), now(), limits);
      if (problem !== null) ctx.addIssue({ code: 'custom', message: `occurred_at ${problem}` });
    })
    .optional();
}
