import { SignJWT } from 'jose';

export interface TokenClaims {
  sub: string;
  roles?: string[];
  ttlSec: number;
  issuer?: string;
  audience?: string;
}

/** HS256 token as the API expects it (dev tooling and tests; production tokens come from the IdP). */
export async function signHs256(secret: string, claims: TokenClaims): Promise<string> {
  let jwt = new SignJWT(claims.roles !== undefined && claims.roles.length > 0 ? { roles: claims.roles } : {})
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(claims.sub)
    .setIssuedAt()
    .setExpirationTime(Math.floor(Date.now() / 1000) + claims.ttlSec);
  if (claims.issuer !== undefined) jwt = jwt.setIssuer(claims.issuer);
  if (claims.audience !== undefined) jwt = jwt.setAudience(claims.audience);
  return jwt.sign(new TextEncoder().encode(secret));
}
