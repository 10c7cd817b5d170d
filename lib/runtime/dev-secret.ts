import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * HS256 secret for local runs when JWT_SECRET is not set: random per machine, stored in
 * the git-ignored .data/ so `npm start` and `npm run token` agree. Never used when
 * JWT_SECRET or JWT_JWKS_URL is configured.
 */
export function devSecret(dataDir: string): string {
  return devFileSecret(dataDir, 'dev-jwt-secret');
}

/**
 * Password of the analysts' SQL endpoint for local runs when SQL_HTTP_PASSWORD is not set:
 * generated once into .data/ like the JWT secret, so it survives restarts and the banner
 * and `npm run sql` agree.
 */
export function devSqlPassword(dataDir: string): string {
  return devFileSecret(dataDir, 'dev-sql-password');
}

function devFileSecret(dataDir: string, name: string): string {
  const file = join(dataDir, name);
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
