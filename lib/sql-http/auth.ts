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
  const hUser = req.headers['x-clickhouse-user'];
  const hKey = req.headers['x-clickhouse-key'];
  const inHeaders = typeof hUser === 'string' || typeof hKey === 'string';
  const inAuthorization = req.headers.authorization !== undefined;
  const inUrl = params.has('user') || params.has('password');
  // As clickhouse-server: two ways at once is refused, never one of them picked silently
  // (a wrong password in one would otherwise pass on the strength of the other).
  if (Number(inHeaders) + Number(inAuthorization) + Number(inUrl) > 1) {
    throw new AuthError(
      'Invalid authentication: it is not allowed to use the X-ClickHouse headers, the Authorization header and the user/password parameters simultaneously',
      false,
    );
  }
  if (inHeaders) {
    return {
      user: typeof hUser === 'string' ? hUser : 'default',
      password: typeof hKey === 'string' ? hKey : '',
    };
  }
  const auth = req.headers.authorization;
  if (typeof auth === 'string' && /^basic /i.test(auth)) {
    const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    return colon < 0
      ? { user: decoded, password: '' }
      : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (params.has('user') || params.has('password')) {
    return { user: params.get('user') ?? 'default', password: params.get('password') ?? '' };
  }
  return undefined;
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
