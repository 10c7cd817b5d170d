/**
 * Hand-written checks for the contract's field types, for the ETL's per-message hot loop:
 * zod's UUID and date-time regexes and its generic object walk were a large share of the
 * ETL's CPU profile. Each check accepts a subset of what the zod type accepts (never
 * more: test/unit/fast-checks.test.ts compares them on valid and mutated values); a false
 * answer only means "let zod decide", which also yields the reason for the dead letter.
 * The UUID shape check also guards what the API takes as a token subject and inlines into SQL.
 */

const HEX = new Uint8Array(128);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;

function isHex(c: number): boolean {
  return c < 128 && HEX[c] === 1;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** 8-4-4-4-12 hex digits (either case) and nothing else, whatever the version bits. */
export function isUuidShape(v: unknown): v is string {
  if (typeof v !== 'string' || v.length !== 36) return false;
  for (let i = 0; i < 36; i++) {
    const c = v.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (!isHex(c)) return false;
  }
  return true;
}

export const NIL_UUID = '00000000-0000-0000-0000-000000000000';

/** The two UUIDs RFC 9562 reserves: never an id a client made, usually one it never set. */
export function isNilOrMaxUuid(v: string): boolean {
  return v === NIL_UUID || v.toLowerCase() === 'ffffffff-ffff-ffff-ffff-ffffffffffff';
}

/** Like z.uuid() less the nil and max UUIDs: 8-4-4-4-12 hex with an RFC 9562 version (1–8) and variant. */
export function isUuid(v: unknown): v is string {
  if (!isUuidShape(v)) return false;
  const version = v.charCodeAt(14);
  const variant = v.charCodeAt(19) | 0x20; // lower case
  return (
    version >= 0x31 &&
    version <= 0x38 &&
    (variant === 0x38 || variant === 0x39 || variant === 0x61 || variant === 0x62)
  );
}

/** Like z.int().min(min).max(max). */
export function isIntIn(v: unknown, min: number, max: number): v is number {
  return typeof v === 'number' && Number.isInteger(v) && v >= min && v <= max;
}

/** Days per month (index 1–12), February of a leap year. */
export const MONTH_DAYS: readonly number[] = [0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

function num(s: string, from: number, len: number): number {
  let n = 0;
  for (let i = from; i < from + len; i++) {
    const c = s.charCodeAt(i);
    if (!isDigit(c)) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** Like z.iso.datetime(): YYYY-MM-DDThh:mm:ss[.f+]Z with a real calendar date, UTC only. */
export function isIsoUtc(v: unknown): v is string {
  if (typeof v !== 'string' || v.length < 20) return false;
  if (v.charCodeAt(4) !== 0x2d || v.charCodeAt(7) !== 0x2d || v.charCodeAt(10) !== 0x54) return false;
  if (v.charCodeAt(13) !== 0x3a || v.charCodeAt(16) !== 0x3a) return false;
  const year = num(v, 0, 4);
  const month = num(v, 5, 2);
  const day = num(v, 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > MONTH_DAYS[month]!) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = num(v, 11, 2);
  const minute = num(v, 14, 2);
  const second = num(v, 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  const last = v.length - 1;
  if (v.charCodeAt(last) !== 0x5a) return false; // 'Z'
  if (last === 19) return true;
  if (v.charCodeAt(19) !== 0x2e || last === 20) return false; // '.' and at least one digit
  for (let i = 20; i < last; i++) if (!isDigit(v.charCodeAt(i))) return false;
  return true;
}

/** Whether v is a plain object whose own keys are exactly `keys` (a z.strictObject's shape). */
export function hasExactlyKeys(v: unknown, keys: ReadonlySet<string>): v is Record<string, unknown> {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  let n = 0;
  for (const k in v) {
    if (!Object.hasOwn(v, k) || !keys.has(k)) return false;
    n++;
  }
  return n === keys.size;
}
