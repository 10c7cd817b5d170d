import { MONTH_DAYS } from './fast-checks.js';

/**
 * Contract checks on a Kafka value's bytes, for the ETL's per-message hot loop: a value in
 * the form the API writes (JSON.stringify's compact output) is validated without
 * JSON.parse, so no string and no object is built for a valid message. Each check accepts
 * a subset of what JSON.parse followed by the contract's fast check accepts (never more:
 * test/unit/fast-bytes.test.ts compares them on valid and mutated values); false only
 * means "decode it the ordinary way", which also yields the reason for a dead letter.
 */

/** How a field's value is checked on bytes (the field's `fast` check, on its JSON text). */
export type ByteKind = { kind: 'uuid' } | { kind: 'iso-utc' } | { kind: 'int'; min: number; max: number };

/**
 * A strict object's byte check: true when `b[0..n)` is exactly `{"k":v,...}` with every
 * key once, in any order, no whitespace, no escapes, and each value of its field's kind.
 * `at[i]` is then where field i's value starts (for a string, its first character, after
 * the quote); index 0 is `schema_version`.
 */
export type ByteCheck = (b: Uint8Array, n: number, at: Int32Array) => boolean;

// Local, not imported: the checks run per byte and calls through an import showed.
const HEX = new Uint8Array(256);
for (const c of '0123456789abcdefABCDEF') HEX[c.charCodeAt(0)] = 1;
const DIGIT = new Uint8Array(256);
for (const c of '0123456789') DIGIT[c.charCodeAt(0)] = 1;
const DAYS = Int8Array.from(MONTH_DAYS);

const QUOTE = 0x22;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const BACKSLASH = 0x5c;

/** Like isUuid(), on the 36 bytes at s. */
export function isUuidBytes(b: Uint8Array, s: number): boolean {
  if (s + 36 > b.length) return false;
  for (let i = 0; i < 36; i++) {
    const c = b[s + i]!;
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false;
    } else if (HEX[c] !== 1) return false;
  }
  const version = b[s + 14]!;
  const variant = b[s + 19]! | 0x20;
  return (
    version >= 0x31 &&
    version <= 0x38 &&
    (variant === 0x38 || variant === 0x39 || variant === 0x61 || variant === 0x62)
  );
}

function num(b: Uint8Array, from: number, len: number): number {
  let n = 0;
  for (let i = from; i < from + len; i++) {
    const c = b[i]!;
    if (DIGIT[c] !== 1) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n;
}

/** Like isIsoUtc(), on the bytes [s, e). */
export function isIsoUtcBytes(b: Uint8Array, s: number, e: number): boolean {
  const len = e - s;
  if (len < 20 || e > b.length) return false;
  if (b[s + 4] !== 0x2d || b[s + 7] !== 0x2d || b[s + 10] !== 0x54) return false;
  if (b[s + 13] !== 0x3a || b[s + 16] !== 0x3a) return false;
  const year = num(b, s, 4);
  const month = num(b, s + 5, 2);
  const day = num(b, s + 8, 2);
  if (year < 0 || month < 1 || month > 12 || day < 1 || day > DAYS[month]!) return false;
  if (month === 2 && day === 29 && !(year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0))) return false;
  const hour = num(b, s + 11, 2);
  const minute = num(b, s + 14, 2);
  const second = num(b, s + 17, 2);
  if (hour < 0 || hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 59) return false;
  const last = e - 1;
  if (b[last] !== 0x5a) return false; // 'Z'
  if (last === s + 19) return true;
  if (b[s + 19] !== 0x2e || last === s + 20) return false; // '.' and at least one digit
  for (let i = s + 20; i < last; i++) if (DIGIT[b[i]!] !== 1) return false;
  return true;
}

const VERSION = 0;
const INT = 1;
const UUID = 2;
const ISO = 3;

/**
 * The byte check of a strict object with `schema_version` equal to `version` and these
 * fields; undefined when more than 30 keys (the seen-keys mask is one 32-bit word).
 * Written as one flat loop over typed arrays: it runs once per message.
 */
export function compactObjectCheck(
  version: number,
  fields: readonly { name: string; bytes: ByteKind }[],
): ByteCheck | undefined {
  const count = fields.length + 1;
  if (count > 30) return undefined;
  const names = ['schema_version', ...fields.map((f) => f.name)].map((k) => Buffer.from(k, 'utf8'));
  const keys = new Uint8Array(names.reduce((s, k) => s + k.length, 0));
  const keyStart = new Int32Array(count);
  const keyLen = new Int32Array(count);
  let o = 0;
  names.forEach((k, i) => {
    keys.set(k, o);
    keyStart[i] = o;
    keyLen[i] = k.length;
    o += k.length;
  });
  const kind = new Int8Array(count);
  const min = new Float64Array(count);
  const max = new Float64Array(count);
  kind[0] = VERSION;
  min[0] = version;
  max[0] = version;
  fields.forEach((f, j) => {
    const i = j + 1;
    const b = f.bytes;
    kind[i] = b.kind === 'int' ? INT : b.kind === 'uuid' ? UUID : ISO;
    if (b.kind === 'int') {
      min[i] = b.min;
      max[i] = b.max;
    }
  });
  const all = (1 << count) - 1;

  const keyAt = (b: Uint8Array, ks: number, n: number, k: number): boolean => {
    const len = keyLen[k]!;
    if (ks + len >= n || b[ks + len] !== QUOTE) return false;
    const from = keyStart[k]!;
    for (let i = 0; i < len; i++) if (b[ks + i] !== keys[from + i]) return false;
    return true;
  };

  return (b, n, at) => {
    if (n < 2 || b[0] !== OPEN || b[n - 1] !== CLOSE) return false;
    let seen = 0;
    let p = 1;
    for (let member = 0; ; member++) {
      if (b[p] !== QUOTE) return false;
      const ks = p + 1;
      // The key: the one expected at this place first (writers keep the declared order).
      let k = member < count ? member : 0;
      if (!keyAt(b, ks, n, k)) {
        k = -1;
        for (let t = 0; t < count; t++) {
          if (keyAt(b, ks, n, t)) {
            k = t;
            break;
          }
        }
        if (k < 0) return false;
      }
      if ((seen & (1 << k)) !== 0) return false;
      seen |= 1 << k;
      p = ks + keyLen[k]! + 1;
      if (b[p] !== COLON) return false;
      p++;
      const kd = kind[k]!;
      if (kd === UUID) {
        if (p + 38 > n || b[p] !== QUOTE || b[p + 37] !== QUOTE || !isUuidBytes(b, p + 1)) return false;
        at[k] = p + 1;
        p += 38;
      } else if (kd === ISO) {
        if (b[p] !== QUOTE) return false;
        let e = p + 1;
        for (; e < n; e++) {
          const c = b[e]!;
          if (c === QUOTE) break;
          if (c < 0x20 || c > 0x7e || c === BACKSLASH) return false;
        }
        if (e >= n || !isIsoUtcBytes(b, p + 1, e)) return false;
        at[k] = p + 1;
        p = e + 1;
      } else {
        // A JSON integer without sign, fraction, exponent or leading zero, at most 15 digits.
        let v = 0;
        let i = p;
        for (; i < n && i - p < 16; i++) {
          const c = b[i]!;
          if (DIGIT[c] !== 1) break;
          v = v * 10 + (c - 0x30);
        }
        const digits = i - p;
        if (digits === 0 || digits > 15 || (digits > 1 && b[p] === 0x30)) return false;
        if (v < min[k]! || v > max[k]!) return false;
        at[k] = p;
        p = i;
      }
      if (b[p] === COMMA) {
        p++;
        continue;
      }
      return p === n - 1 && seen === all;
    }
  };
}
