import { ConfigError } from '../errors.js';
import { parseCidr, type Cidr } from '../net/cidr.js';

/**
 * One documented config option: env key, default (as the env string), description and
 * parser. The defaults table in docs/configuration.md is generated from these, and a test
 * keeps it in step, so no option exists without a documented default.
 */
export interface Option<T> {
  readonly key: string;
  readonly default: string | undefined;
  readonly doc: string;
  readonly secret: boolean;
  parse(raw: string | undefined): T;
}

function make<T>(
  key: string,
  def: string | undefined,
  doc: string,
  parse: (raw: string) => T,
  empty: T,
  secret = false,
): Option<T> {
  return {
    key,
    default: def,
    doc,
    secret,
    parse(raw) {
      const value = raw === undefined || raw === '' ? def : raw;
      return value === undefined ? empty : parse(value);
    },
  };
}

export function int(
  key: string,
  def: number,
  doc: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): Option<number> {
  return make(
    key,
    String(def),
    doc,
    (raw) => {
      const n = Number(raw);
      if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
        throw new ConfigError(key, raw, `an integer between ${min} and ${max}`);
      }
      return n;
    },
    def,
  );
}

export function str(key: string, def: string, doc: string): Option<string> {
  return make(key, def, doc, (raw) => raw, def);
}

export function optionalStr(key: string, doc: string, secret = false): Option<string | undefined> {
  return make<string | undefined>(key, undefined, doc, (raw) => raw, undefined, secret);
}

export function bool(key: string, def: boolean, doc: string): Option<boolean> {
  return make(
    key,
    String(def),
    doc,
    (raw) => {
      const v = raw.trim().toLowerCase();
      if (['1', 'true', 'yes', 'on'].includes(v)) return true;
      if (['0', 'false', 'no', 'off'].includes(v)) return false;
      throw new ConfigError(key, raw, 'true or false');
    },
    def,
  );
}

/** The non-empty items of a comma-separated value, trimmed. */
function splitList(raw: string): string[] {
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

export function list(key: string, def: string, doc: string): Option<string[]> {
  return make(key, def, doc, splitList, splitList(def));
}

/** Comma-separated CIDRs (`10.0.0.0/8`, `::1`); one that is not a CIDR is a ConfigError. */
export function cidrList(key: string, def: string, doc: string): Option<Cidr[]> {
  const parse = (raw: string) =>
    splitList(raw).map((s) => parseCidr(s) ?? fail(key, s, 'comma-separated CIDRs, e.g. 10.0.0.0/8,::1'));
  return make(key, def, doc, parse, parse(def));
}

function fail(key: string, raw: string, expected: string): never {
  throw new ConfigError(key, raw, expected);
}

export function oneOf<T extends string>(key: string, def: T, values: readonly T[], doc: string): Option<T> {
  return make(
    key,
    def,
    doc,
    (raw) => {
      if (!(values as readonly string[]).includes(raw))
        throw new ConfigError(key, raw, `one of ${values.join(', ')}`);
      return raw as T;
    },
    def,
  );
}

export function url(key: string, doc: string): Option<string | undefined> {
  return make<string | undefined>(
    key,
    undefined,
    doc,
    (raw) => {
      try {
        new URL(raw);
      } catch {
        throw new ConfigError(key, raw, 'an absolute URL');
      }
      return raw;
    },
    undefined,
  );
}

/** An optional secret key: when set, at least `minBytes` bytes (UTF-8), else ConfigError. */
export function secretKey(key: string, doc: string, minBytes: number): Option<string | undefined> {
  return make<string | undefined>(
    key,
    undefined,
    doc,
    (raw) => {
      if (Buffer.byteLength(raw, 'utf8') < minBytes)
        throw new ConfigError(key, '[redacted]', `at least ${minBytes} bytes`);
      return raw;
    },
    undefined,
    true,
  );
}
