import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * HS256 secret for local runs when JWT_SECRET is not set: random per machine, stored in
 * the git-ignored .data/ so `npm start` and `npm run token` agree. Never used when
 * JWT_SECRET or JWT_JWKS_URL is configured.
 */
export function devSecret(dataDir: string): string {
  const file = join(dataDir, 'dev-jwt-secret');
  if (existsSync(file)) return readFileSync(file, 'utf8').trim();
  mkdirSync(dirname(file), { recursive: true });
  const secret = randomBytes(48).toString('base64url');
  writeFileSync(file, `${secret}\n`, { mode: 0o600 });
  return secret;
}
