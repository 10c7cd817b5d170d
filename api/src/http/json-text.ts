import type { FieldError } from '../../../lib/contracts/validation.js';

/**
 * What JSON.parse takes without a word but changes: a key twice in one object (the last
 * wins) and a number it cannot hold exactly (`12345678901234567890123`, `0.99999999999999999`,
 * `1e-400`). Either would store something other than what was sent, so the body is refused.
 * One pass over text JSON.parse already accepted; strings are skipped with indexOf and
 * short integers decided without building a number, since every body goes through it.
 */
export function checkJsonText(text: string): FieldError | null {
  const frames: Frame[] = [];
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      const end = stringEnd(text, i);
      const top = frames[frames.length - 1];
      if (top !== undefined && top.keys !== undefined && top.expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        if (top.keys.has(key)) {
          return { path: pathOf(frames, key), code: 'duplicate_key', message: 'appears twice in one object' };
        }
        top.keys.add(key);
        top.key = key;
        top.expectKey = false;
      }
      i = end + 1;
    } else if (c === OPEN_OBJECT) {
      frames.push({ keys: new Keys(), key: '', expectKey: true, index: 0 });
      i++;
    } else if (c === OPEN_ARRAY) {
      frames.push({ keys: undefined, key: '', expectKey: false, index: 0 });
      i++;
    } else if (c === CLOSE_OBJECT || c === CLOSE_ARRAY) {
      frames.pop();
      i++;
    } else if (c === COMMA) {
      const top = frames[frames.length - 1]!;
      if (top.keys !== undefined) top.expectKey = true;
      else top.index++;
      i++;
    } else if (c === MINUS || (c >= ZERO && c <= NINE)) {
      let j = c === MINUS ? i + 1 : i;
      let digits = 0;
      let plain = true;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= ZERO && d <= NINE) digits++;
        else if (d === DOT || d === LOWER_E || d === UPPER_E || d === PLUS || d === MINUS) plain = false;
        else break;
      }
      // An integer of up to 15 digits is below 2^53: held exactly.
      if (!(plain && digits <= 15) && !exact(text.slice(i, j))) {
        const top = frames[frames.length - 1];
        return {
          path: pathOf(frames, top?.keys !== undefined ? top.key : undefined),
          code: 'inexact_number',
          message: `${text.slice(i, Math.min(j, i + 40))} would not be kept as sent (a number keeps about 15-17 significant digits)`,
        };
      }
      i = j;
    } else i++;
  }
  return null;
}

/**
 * An object's keys so far: a short array (most objects have a handful, and a Set per
 * object costs more than scanning them), a Set past 16, so no object makes it quadratic.
 */
class Keys {
  private list: string[] | undefined = [];
  private set: Set<string> | undefined;

  has(key: string): boolean {
    return this.set !== undefined ? this.set.has(key) : this.list!.includes(key);
  }

  add(key: string): void {
    if (this.set !== undefined) this.set.add(key);
    else if (this.list!.length < 16) this.list!.push(key);
    else {
      this.set = new Set(this.list);
      this.set.add(key);
      this.list = undefined;
    }
  }
}

interface Frame {
  /** An object's keys so far; undefined for an array. */
  keys: Keys | undefined;
  /** The object's current key. */
  key: string;
  expectKey: boolean;
  /** An array's current index. */
  index: number;
}

/**
 * Whether the number JSON.parse reads from `token` is what was sent: an integer of the same
 * value (2^64 is held exactly, though printed rounded), else the same significant digits.
 */
function exact(token: string): boolean {
  const value = Number(token);
  if (!Number.isFinite(value)) return false;
  if (/^-?\d+$/.test(token)) return BigInt(token) === BigInt(value);
  return significand(token) === significand(String(value));
}

/** The significant digits of a decimal: no sign, point, exponent, leading or trailing zeros. */
function significand(s: string): string {
  const e = s.search(/[eE]/);
  const mantissa = (e < 0 ? s : s.slice(0, e)).replace(/[-+.]/g, '');
  return mantissa.replace(/^0+/, '').replace(/0+$/, '');
}

/** The index of the quote that closes the string opening at `start`. */
function stringEnd(text: string, start: number): number {
  let j = text.indexOf('"', start + 1);
  for (;;) {
    let backslashes = 0;
    for (let k = j - 1; text.charCodeAt(k) === BACKSLASH; k--) backslashes++;
    if (backslashes % 2 === 0) return j;
    j = text.indexOf('"', j + 1);
  }
}

/** The path the error shape names: `events[3].film_id`. */
function pathOf(frames: readonly Frame[], last: string | undefined): string {
  let path = '';
  for (let f = 0; f < frames.length; f++) {
    const frame = frames[f]!;
    const isLast = f === frames.length - 1;
    if (frame.keys === undefined) path += `[${frame.index}]`;
    else if (!isLast) path += path === '' ? frame.key : `.${frame.key}`;
  }
  if (last !== undefined) path += path === '' ? last : `.${last}`;
  return path;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const COMMA = 0x2c;
const MINUS = 0x2d;
const PLUS = 0x2b;
const DOT = 0x2e;
const ZERO = 0x30;
const NINE = 0x39;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
