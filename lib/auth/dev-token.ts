import { parseArgs } from 'node:util';
import { isNilOrMaxUuid, isUuidShape } from '../contracts/fast-checks.js';

/**
 * Dev tokens (`npm run token`, the one `npm start` prints) last a day by default: they end
 * up in shell history, notes and screenshots, and one that worked for a week would outlive
 * the session it was made for.
 */
export const DEV_TOKEN_TTL_SEC = 24 * 3600;

export interface TokenArgs {
  /** --help / -h: print TOKEN_USAGE, sign nothing. */
  help: boolean;
  sub: string | undefined;
  roles: string[] | undefined;
  ttlSec: number;
}

export const TOKEN_USAGE = `Usage: npm run token -- [--sub <viewer-uuid>] [--role admin]... [--ttl-sec <seconds>]
Prints a signed HS256 token: JWT_SECRET when set, else the local dev secret.
  --sub      the viewer (a UUID; a random one when absent)
  --role     a role the token grants (admin: the admin and stats routes); repeatable
  --ttl-sec  lifetime in seconds (default ${DEV_TOKEN_TTL_SEC}; the API refuses more than JWT_MAX_LIFETIME_SEC)
`;

/** `npm run token` arguments: --sub <uuid> [--role <role>]... [--ttl-sec <seconds>]. */
export function parseTokenArgs(args: string[]): TokenArgs {
  const { values } = parseArgs({
    args,
    options: {
      sub: { type: 'string' },
      role: { type: 'string', multiple: true },
      'ttl-sec': { type: 'string', default: String(DEV_TOKEN_TTL_SEC) },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const ttl = values['ttl-sec'];
  if (!/^[1-9]\d*$/.test(ttl)) throw new Error(`--ttl-sec must be a whole number of seconds, got "${ttl}"`);
  // What the API refuses, refused here: a token it would answer 401 is no use to anyone.
  if (values.sub !== undefined && (!isUuidShape(values.sub) || isNilOrMaxUuid(values.sub))) {
    throw new Error(`--sub must be a viewer UUID (not the nil or max UUID), got "${values.sub}"`);
  }
  return { help: values.help, sub: values.sub, roles: values.role, ttlSec: Number(ttl) };
}
