import { ConfigError } from '../errors.js';
import type { Logger } from '../log.js';

interface JwtKeySource {
  jwksUrl: string | undefined;
  issuer: string | undefined;
  audience: string | undefined;
}

/**
 * Which of JWT_ISSUER / JWT_AUDIENCE are unset. Without them the API accepts any token its
 * keys verify: an identity provider's JWKS signs tokens for every application (and tenant)
 * it serves, so a token issued to another application would pass. With JWKS keys that is
 * refused at startup (loadConfig); with a shared secret, which is the API's own, it is
 * warned about once (buildApi).
 */
export function unboundJwtClaims(config: JwtKeySource): string[] {
  const missing: string[] = [];
  if (config.issuer === undefined) missing.push('JWT_ISSUER');
  if (config.audience === undefined) missing.push('JWT_AUDIENCE');
  return missing;
}

/** loadConfig: keys from JWT_JWKS_URL need JWT_ISSUER and JWT_AUDIENCE. */
export function checkJwksBinding(config: JwtKeySource): void {
  const missing = config.jwksUrl === undefined ? [] : unboundJwtClaims(config);
  if (missing.length === 0) return;
  throw new ConfigError(
    missing.join(','),
    '',
    'set when JWT_JWKS_URL is set',
    `invalid config: JWT_JWKS_URL is set, so ${missing.join(' and ')} must be set too (without them a token the identity provider issued to another application would be accepted)`,
  );
}

/** buildApi, once: HS256 tokens that name no issuer/audience are accepted; say so. */
export function warnOnUnboundSecret(
  config: JwtKeySource & { secret: string | undefined },
  log: Pick<Logger, 'warn'>,
): void {
  const missing = config.secret === undefined ? [] : unboundJwtClaims(config);
  if (missing.length === 0) return;
  log.warn(
    { event: 'jwt_claims_unbound', missing },
    `JWT_SECRET is set without ${missing.join(' and ')}: any token signed with the secret is accepted, whatever its issuer or audience`,
  );
}
