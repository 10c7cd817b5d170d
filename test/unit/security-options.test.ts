import { expect } from 'chai';
import { decodeJwt } from 'jose';
import { DEV_TOKEN_TTL_SEC, parseTokenArgs } from '../../lib/auth/dev-token.js';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { loadConfig, redactedConfig } from '../../lib/config/config.js';
import { maskUrlCredentials } from '../../lib/config/mask-url.js';
import { ConfigError } from '../../lib/errors.js';

const DAY_SEC = 24 * 3600;

describe('security-relevant options', () => {
  it('refuses a REPORT_LINK_SECRET shorter than 32 bytes, without echoing it', () => {
    const short = 'x'.repeat(31);
    expect(() => loadConfig({ REPORT_LINK_SECRET: short })).to.throw(
      ConfigError,
      'invalid config REPORT_LINK_SECRET="[redacted]": expected at least 32 bytes',
    );
    // Bytes, not characters: 16 two-byte characters are 32 bytes.
    expect(loadConfig({ REPORT_LINK_SECRET: 'é'.repeat(16) }).reports.linkSecret).to.equal('é'.repeat(16));
    expect(loadConfig({ REPORT_LINK_SECRET: 'x'.repeat(32) }).reports.linkSecret).to.have.length(32);
    expect(loadConfig({}).reports.linkSecret).to.equal(undefined);
  });

  it('masks the password of every URL in the logged config', () => {
    const config = loadConfig({
      POSTGRES_URL: 'postgres://app:pg-pass-1@db:5432/streaming',
      CLICKHOUSE_URL: 'http://writer:ch-pass-2@clickhouse:8123',
      KAFKA_BROKERS: 'k1:9092,user:kafka-pass-3@k2:9092',
      ELASTIC_APM_SERVER_URL: 'https://apm:apm-pass-4@apm-server:8200',
      JWT_JWKS_URL: 'https://idp:jwks-pass-5@idp.example.com/jwks.json',
      JWT_ISSUER: 'https://idp.example.com/',
      JWT_AUDIENCE: 'streaming-api',
    });
    const shown = redactedConfig(config);
    const text = JSON.stringify(shown);
    for (const pw of ['pg-pass-1', 'ch-pass-2', 'kafka-pass-3', 'apm-pass-4', 'jwks-pass-5'])
      expect(text).not.to.contain(pw);
    expect(shown.postgres!.url).to.equal('postgres://app:***@db:5432/streaming');
    expect(shown.clickhouse!.url).to.equal('http://writer:***@clickhouse:8123');
    expect(shown.kafka!.brokers).to.deep.equal(['k1:9092', 'user:***@k2:9092']);
    expect(shown.apm!.serverUrl).to.equal('https://apm:***@apm-server:8200');
    expect(shown.auth!.jwksUrl).to.equal('https://idp:***@idp.example.com/jwks.json');
    // The config itself keeps them: only what is printed is masked.
    expect(config.postgres.url).to.contain('pg-pass-1');
  });

  it('masks URL passwords anywhere in a message, leaving URLs without one as they are', () => {
    expect(
      maskUrlCredentials('connect ECONNREFUSED postgres://u:p@ss@h:5432/d, then http://a:b@c/'),
    ).to.equal('connect ECONNREFUSED postgres://u:***@h:5432/d, then http://a:***@c/');
    for (const plain of [
      'postgres://postgres@127.0.0.1:5432/db',
      'https://idp/jwks.json?x=a@b',
      'k1:9092,k2:9092',
    ])
      expect(maskUrlCredentials(plain)).to.equal(plain);
  });

  it('makes dev tokens that expire within a day unless asked otherwise', async () => {
    expect(DEV_TOKEN_TTL_SEC).to.be.at.most(DAY_SEC);
    const args = parseTokenArgs(['--sub', '00000000-0000-4000-8000-000000000001']);
    expect(args.ttlSec).to.be.at.most(DAY_SEC);
    const claims = decodeJwt(await signHs256('s'.repeat(32), { sub: args.sub!, ttlSec: args.ttlSec }));
    expect(claims.exp! - claims.iat!).to.be.within(1, DAY_SEC);
    expect(parseTokenArgs(['--ttl-sec', '600']).ttlSec).to.equal(600);
    expect(parseTokenArgs(['--help']).help).to.equal(true);
    expect(parseTokenArgs(['-h']).help).to.equal(true);
    expect(parseTokenArgs([]).help).to.equal(false);
    for (const bad of ['abc', '0', '-5', '1.5'])
      expect(() => parseTokenArgs([`--ttl-sec=${bad}`]), bad).to.throw('--ttl-sec must be a whole number');
    // A subject the API would refuse (401) is refused here.
    for (const bad of [
      'not-a-uuid',
      '00000000-0000-0000-0000-000000000000',
      'ffffffff-ffff-ffff-ffff-ffffffffffff',
    ])
      expect(() => parseTokenArgs(['--sub', bad]), bad).to.throw('--sub must be a viewer UUID');
  });
});
