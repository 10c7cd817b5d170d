import { parseArgs } from 'node:util';

/**
 * Dev tokens (`npm run token`, the one `npm start` prints) last a day by default: they end
 * up in shell history, notes and screenshots, and one that worked for a week would outlive
 * the session it was made for.
 */
export const DEV_TOKEN_TTL_SEC = 24 * 3600;

export interface TokenArgs {
  sub: string | undefined;
  roles: string[] | undefined;
  ttlSec: number;
}

/** `npm run token` arguments: --sub <uuid> [--role <role>]... [--ttl-sec <seconds>]. */
export function parseTokenArgs(args: string[]): TokenArgs {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      role: { type: 'string', multiple: true },
      'ttl-sec': { type: 'string', default: String(DEV_TOKEN_TTL_SEC) },
    },
  });
  const ttl = values['ttl-sec'];
  if (!/^[1-9]\d*$/.test(ttl)) throw new Error(`--ttl-sec must be a whole number of seconds, got "${ttl}"`);
  return { sub: values.sub, roles: values.role, ttlSec: Number(ttl) };
}
