import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { ClickHouseHttpError, CODES } from './errors.js';

export interface Credentials {
  user: string;
  password: string;
}

/**
 * Credentials the way clickhouse-server reads them: X-ClickHouse-User / X-ClickHouse-Key,
 * HTTP Basic, or the `user` / `password` URL parameters. None given means user `default`
 * with no password, as on the server.
 */
export function credentialsOf(req: IncomingMessage, params: URLSearchParams): Credentials | undefined {
  const hUser = nonEmpty(req.headers['x-clickhouse-user']);
  const hKey = nonEmpty(req.headers['x-clickhouse-key']);
  const inHeaders = hUser !== undefined || hKey !== undefined;
  const inUrl = params.has('user') || params.has('password');
  // As clickhouse-server: URL credentials win over an Authorization header (a browser sends
  // back the Basic credentials it remembers), and `Authorization: never` is none.
  const authorization =
    inUrl || req.headers.authorization === 'never' ? undefined : req.headers.authorization;
  // The X-ClickHouse headers beside another way are refused, never one of them picked
  // silently (a wrong password in one would otherwise pass on the strength of the other).
  if (inHeaders && (authorization !== undefined || inUrl)) {
    throw new AuthError(
      'Invalid authentication: it is not allowed to use the X-ClickHouse headers and other authentication methods simultaneously',
      false,
    );
  }
  if (inHeaders) return { user: hUser ?? 'default', password: hKey ?? '' };
  if (typeof authorization === 'string' && /^basic /i.test(authorization)) {
    const decoded = Buffer.from(authorization.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded, password: '' }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (inUrl) return { user: params.get('user') ?? 'default', password: params.get('password') ?? '' };
  return undefined;
}

/** A header's value, or undefined when it is absent or empty (the server counts neither). */
function nonEmpty(value: string | string[] | undefined): string | undefined {
  return typeof value === 'string' && value !== '' ? value : undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/** The configured analyst, or the server's AUTHENTICATION_FAILED (no credentials: 401 with a Basic challenge). */
export function authenticate(given: Credentials | undefined, expected: Credentials): string {
  const creds = given ?? { user: 'default', password: '' };
  // Compared as digests: equal length, constant time, whatever the input lengths.
  const ok =
    timingSafeEqual(digest(creds.user), digest(expected.user)) &&
    timingSafeEqual(digest(creds.password), digest(expected.password));
  if (ok) return creds.user;
  throw new AuthError(
    `${creds.user}: Authentication failed: password is incorrect, or there is no user with such name`,
    given === undefined,
  );
}

export class AuthError extends ClickHouseHttpError {
  constructor(
    message: string,
    readonly noCredentials: boolean,
  ) {
    super(CODES.AUTHENTICATION_FAILED, 'AUTHENTICATION_FAILED', message);
  }
}
