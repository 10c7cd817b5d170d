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
 * The claims dev tokens carry. `npm start` binds its dev secret to them, so the API it runs
 * accepts only tokens made for it, as a production one should, and has no unbound claims
 * to warn about; `npm run token` signs with them.
 */
export const DEV_JWT_ISSUER = 'streaming-analytics-dev';
export const DEV_JWT_AUDIENCE = 'streaming-analytics';

/**
 * `npm start` and `npm run token`, before loading config: with no JWT key configured, the
 * dev secret, and the dev issuer and audience where those are unset. An empty value counts
 * as unset, as it does in loadConfig.
 */
export function applyDevJwt(env: NodeJS.ProcessEnv, dataDir: string): void {
  if (env.JWT_SECRET || env.JWT_JWKS_URL) return;
  env.JWT_SECRET = devSecret(dataDir);
  env.JWT_ISSUER ||= DEV_JWT_ISSUER;
  env.JWT_AUDIENCE ||= DEV_JWT_AUDIENCE;
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
