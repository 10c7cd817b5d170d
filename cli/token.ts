import { randomUUID } from 'node:crypto';
import { parseTokenArgs, TOKEN_USAGE } from '../lib/auth/dev-token.js';
import { signHs256 } from '../lib/auth/sign-token.js';
import { loadConfig } from '../lib/config/config.js';
import { applyDevJwt } from '../lib/runtime/dev-secret.js';

/**
 * npm run token -- --sub <uuid> [--role <role>] [--ttl-sec <seconds>] (default: one day)
 * Prints a signed HS256 token on stdout: JWT_SECRET when set, else the local dev secret (with
 * the dev issuer and audience `npm start` requires).
 */
async function main(): Promise<void> {
  const args = parseTokenArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(TOKEN_USAGE);
    return;
  }
  const env = { ...process.env };
  applyDevJwt(env, loadConfig(env).local.dataDir);
  const config = loadConfig(env);
  if (config.auth.jwksUrl !== undefined) {
    throw new Error('JWT_JWKS_URL is set: tokens come from your identity provider, not from this tool');
  }
  const max = config.auth.maxLifetimeSec;
  if (max > 0 && args.ttlSec > max) {
    throw new Error(
      `--ttl-sec ${args.ttlSec} is above JWT_MAX_LIFETIME_SEC (${max}): the API would refuse the token`,
    );
  }
  const token = await signHs256(config.auth.secret!, {
    sub: args.sub ?? randomUUID(),
    roles: args.roles,
    ttlSec: args.ttlSec,
    issuer: config.auth.issuer,
    audience: config.auth.audience,
  });
  process.stdout.write(`${token}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`token: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
