import { expect } from 'chai';
import { loadConfig } from '../../lib/config/config.js';
import { warnOnUnboundSecret } from '../../lib/config/jwt-binding.js';
import { ConfigError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';

const JWKS = 'https://idp.example.com/.well-known/jwks.json';

function captureLog(): { log: ReturnType<typeof createLogger>; lines: () => Record<string, unknown>[] } {
  const out: string[] = [];
  const log = createLogger(
    { level: 'info', pretty: false, name: 'test' },
    { write: (s: string) => out.push(s) },
  );
  return { log, lines: () => out.map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('JWT issuer and audience binding', () => {
  it('refuses JWKS keys without JWT_ISSUER and JWT_AUDIENCE, naming what is missing', () => {
    expect(() => loadConfig({ JWT_JWKS_URL: JWKS })).to.throw(
      ConfigError,
      'JWT_JWKS_URL is set, so JWT_ISSUER and JWT_AUDIENCE must be set too',
    );
    expect(() => loadConfig({ JWT_JWKS_URL: JWKS, JWT_ISSUER: 'https://idp.example.com/' })).to.throw(
      ConfigError,
      'JWT_JWKS_URL is set, so JWT_AUDIENCE must be set too',
    );
    expect(() => loadConfig({ JWT_JWKS_URL: JWKS, JWT_AUDIENCE: 'streaming-api' })).to.throw(
      ConfigError,
      'JWT_JWKS_URL is set, so JWT_ISSUER must be set too',
    );
    const config = loadConfig({
      JWT_JWKS_URL: JWKS,
      JWT_ISSUER: 'https://idp.example.com/',
      JWT_AUDIENCE: 'streaming-api',
    });
    expect(config.auth).to.include({ issuer: 'https://idp.example.com/', audience: 'streaming-api' });
  });

  it('warns once, structured, when a shared secret is used without issuer or audience', () => {
    const { log, lines } = captureLog();
    warnOnUnboundSecret(loadConfig({ JWT_SECRET: 's'.repeat(32) }).auth, log);
    expect(lines()).to.have.length(1);
    expect(lines()[0]).to.include({ level: 'warn', event: 'jwt_claims_unbound' });
    expect(lines()[0]!.missing).to.deep.equal(['JWT_ISSUER', 'JWT_AUDIENCE']);
    expect(JSON.stringify(lines())).not.to.contain('s'.repeat(32));

    const partly = captureLog();
    warnOnUnboundSecret(loadConfig({ JWT_SECRET: 's'.repeat(32), JWT_ISSUER: 'me' }).auth, partly.log);
    expect(partly.lines().map((l) => l.missing)).to.deep.equal([['JWT_AUDIENCE']]);
  });

  it('does not warn when both are set, or when keys come from a JWKS URL (checked at load)', () => {
    const { log, lines } = captureLog();
    warnOnUnboundSecret(
      loadConfig({ JWT_SECRET: 's'.repeat(32), JWT_ISSUER: 'me', JWT_AUDIENCE: 'streaming-api' }).auth,
      log,
    );
    warnOnUnboundSecret(
      loadConfig({ JWT_JWKS_URL: JWKS, JWT_ISSUER: 'me', JWT_AUDIENCE: 'streaming-api' }).auth,
      log,
    );
    expect(lines()).to.deep.equal([]);
  });
});
