import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export const DEV_SECRET_FILE = resolve('.data/dev-jwt-secret');

/**
 * HS256 secret for local runs when JWT_SECRET is not set: random per machine, stored in
 * the git-ignored .data/ so `npm start` and `npm run token` agree. Never used when
 * JWT_SECRET or JWT_JWKS_URL is configured.
 */
export function devSecret(file = DEV_SECRET_FILE): string {
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
