import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { exportJWK, generateKeyPair, SignJWT, type JWK } from 'jose';
import { randomUUID } from '../helpers/ids.js';
import { topicMessageCount } from '../helpers/kafka-helpers.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { testEnv } from '../helpers/test-env.js';

const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString('base64url');
const now = () => Math.floor(Date.now() / 1000);

function expectUnauthorized(
  res: { status: number; headers: Headers; body: any },
  bearerError = 'invalid_token',
) {
  expect(res.status, JSON.stringify(res.body)).to.equal(401);
  expect(res.headers.get('www-authenticate')).to.equal(`Bearer realm="api", error="${bearerError}"`);
  expect(res.body.error.code).to.equal('unauthorized');
}

const hs = (
  secret: string,
  claims: Record<string, unknown>,
  header: Record<string, unknown> = { alg: 'HS256' },
) => new SignJWT(claims).setProtectedHeader(header as { alg: string }).sign(new TextEncoder().encode(secret));

/** One progress event for a fresh film, with this token. */
const postProgress = (url: string, token: string | undefined, headers: Record<string, string> = {}) =>
  request(`${url}/api/v1/progress/films/${randomUUID()}`, {
    token,
    headers,
    body: { position_sec: 1, duration_sec: 10 },
  });

describe('JWT with an HS256 shared secret', () => {
  let h: Harness;

  before(async () => {
    h = await startHarness({ env: { JWT_ISSUER: 'https://id.example.com', JWT_AUDIENCE: 'progress-api' } });
  });
  after(async () => {
    await h.stop();
  });

  const post = (token: string | undefined, headers: Record<string, string> = {}) =>
    postProgress(h.url, token, headers);
  const good = () => ({
    sub: randomUUID(),
    iss: 'https://id.example.com',
    aud: 'progress-api',
    exp: now() + 600,
    iat: now(),
  });

  it('accepts a valid token', async () => {
    expect((await post(await hs(h.secret, good()))).status).to.equal(202);
  });

  it('answers 401 invalid_request when the token is missing', async () => {
    expectUnauthorized(await post(undefined), 'invalid_request');
  });

  it('answers 401 invalid_request when the header is not a bearer token', async () => {
    expectUnauthorized(await post(undefined, { Authorization: 'Basic dXNlcjpwYXNz' }), 'invalid_request');
  });

  it('answers 401 when the token is malformed', async () => {
    expectUnauthorized(await post('abc.def.ghi'));
  });

  it('answers 401 when the token expired', async () => {
    const res = await post(await hs(h.secret, { ...good(), exp: now() - 3600 }));
    expectUnauthorized(res);
    expect(res.body.error.message).to.equal('token expired');
  });

  it('tolerates small clock skew on exp', async () => {
    expect((await post(await hs(h.secret, { ...good(), exp: now() - 5 }))).status).to.equal(202);
  });

  it('answers 401 when the token is not yet valid', async () => {
    const res = await post(await hs(h.secret, { ...good(), nbf: now() + 3600 }));
    expectUnauthorized(res);
    expect(res.body.error.message).to.equal('token not yet valid');
  });

  it('answers 401 when the token is signed with another secret', async () => {
    const res = await post(await hs(`other-${h.secret}`, good()));
    expectUnauthorized(res);
    expect(res.body.error.message).to.equal('token signature invalid');
  });

  it('answers 401 for an unsigned alg:none token', async () => {
    const token = `${b64({ alg: 'none', typ: 'JWT' })}.${b64(good())}.`;
    expectUnauthorized(await post(token));
  });

  it('answers 401 when exp is missing', async () => {
    const { exp: _exp, ...claims } = good();
    expectUnauthorized(await post(await hs(h.secret, claims)));
  });

  it('answers 401 when the subject is not a viewer UUID, or is the nil or max UUID', async () => {
    expectUnauthorized(await post(await hs(h.secret, { ...good(), sub: 'admin' })));
    expectUnauthorized(
      await post(await hs(h.secret, { ...good(), sub: '00000000-0000-0000-0000-000000000000' })),
    );
    expectUnauthorized(
      await post(await hs(h.secret, { ...good(), sub: 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF' })),
    );
  });

  it('answers 401 to a token valid for longer than JWT_MAX_LIFETIME_SEC (a day), by iat or from now', async () => {
    const day = 86_400;
    const long = await post(await hs(h.secret, { ...good(), exp: now() + day + 3600 }));
    expectUnauthorized(long);
    expect(long.body.error.message).to.equal(`token lifetime exceeds ${day} s`);
    // Issued a week ago for eight days: one left, but made to live eight.
    expectUnauthorized(
      await post(await hs(h.secret, { ...good(), iat: now() - 7 * day, exp: now() + day - 60 })),
    );
    const { iat: _iat, ...noIat } = good();
    expectUnauthorized(await post(await hs(h.secret, { ...noIat, exp: now() + 2 * day })));
    // At the bound: accepted.
    expect((await post(await hs(h.secret, { ...good(), exp: now() + day }))).status).to.equal(202);
    expect((await post(await hs(h.secret, { ...noIat, exp: now() + day - 60 }))).status).to.equal(202);
  });

  it('answers 401 for a wrong issuer or audience', async () => {
    expectUnauthorized(await post(await hs(h.secret, { ...good(), iss: 'https://evil.example.com' })));
    expectUnauthorized(await post(await hs(h.secret, { ...good(), aud: 'other-api' })));
  });

  it('never writes a token or the secret to the logs, even for rejected tokens', async () => {
    // Tokens of its own, accepted and refused, so the check does not rest on earlier tests.
    expect((await post(await hs(h.secret, good()))).status).to.equal(202);
    expectUnauthorized(await post(await hs(`other-${h.secret}`, good())));
    expectUnauthorized(await post(await hs(h.secret, { ...good(), exp: now() - 3600 })));
    const logs = h.rawLogs.join('\n');
    expect(h.rawLogs.length).to.be.greaterThan(10); // debug level: every request logged
    expect(logs).not.to.contain('eyJ'); // no JWT (base64url of '{"') anywhere
    expect(logs).not.to.contain(h.secret);
    // The configuration is logged (with the secret option in it), and the secret is not.
    const config = h.logs.filter((l) => l.msg === 'config_loaded');
    expect(config).to.have.length(1);
    expect(config[0]).to.have.nested.property('config.auth.secret', '[redacted]');
  });

  it('writes only the accepted events to the topic', async () => {
    const count = () => topicMessageCount(testEnv().brokers, h.config.topics.progress);
    const before = await count();
    // One accepted (202 comes after the broker acknowledged it), three refused.
    expect((await post(await hs(h.secret, good()))).status).to.equal(202);
    expectUnauthorized(await post(await hs(`other-${h.secret}`, good())));
    expectUnauthorized(await post(await hs(h.secret, { ...good(), exp: now() - 3600 })));
    expectUnauthorized(await post(undefined), 'invalid_request');
    expect(await count()).to.equal(before + 1);
  });
});

describe('remembered verifications (JWT_VERIFY_CACHE_*)', () => {
  let h: Harness;
  before(async () => {
    // No skew tolerated, so "expired" is exactly exp.
    h = await startHarness({ env: { JWT_CLOCK_TOLERANCE_SEC: '0' } });
  });
  after(async () => {
    await h.stop();
  });

  it('refuses a token it accepted (and remembered) once the token expires', async () => {
    const exp = now() + 2;
    const token = await hs(h.secret, { sub: randomUUID(), exp });
    const post = () => postProgress(h.url, token);
    expect((await post()).status).to.equal(202);
    expect((await post()).status).to.equal(202);
    await new Promise((r) => setTimeout(r, Math.max(0, exp * 1000 - Date.now()) + 50));
    const res = await post();
    expectUnauthorized(res);
    expect(res.body.error.message).to.equal('token expired');
  });

  it('refuses a token whose signature was altered after a valid one was remembered', async () => {
    const token = await hs(h.secret, { sub: randomUUID(), exp: now() + 600 });
    expect((await postProgress(h.url, token)).status).to.equal(202);
    const last = token.at(-2) === 'A' ? 'B' : 'A';
    const forged = `${token.slice(0, -2)}${last}${token.at(-1)}`;
    expectUnauthorized(await postProgress(h.url, forged));
  });
});

describe('JWT from a JWKS URL (RS256, ES256, EdDSA)', () => {
  // Required with a JWKS URL (loadConfig refuses to start without them).
  const ISSUER = 'https://idp.test/';
  const AUDIENCE = 'streaming-api';
  let h: Harness;
  let jwksServer: Server;
  let jwksFetches = 0;
  const keys: Record<
    string,
    { privateKey: Awaited<ReturnType<typeof generateKeyPair>>['privateKey']; jwk: JWK }
  > = {};

  before(async () => {
    const jwks: JWK[] = [];
    for (const alg of ['RS256', 'ES256', 'EdDSA']) {
      const pair = await generateKeyPair(alg, { extractable: true });
      const jwk = { ...(await exportJWK(pair.publicKey)), kid: `k-${alg}`, alg };
      keys[alg] = { privateKey: pair.privateKey, jwk };
      jwks.push(jwk);
    }
    jwksServer = createServer((_req, res) => {
      jwksFetches += 1;
      res.setHeader('Content-Type', 'application/json');
      res.end(JSON.stringify({ keys: jwks }));
    });
    await new Promise<void>((r) => jwksServer.listen(0, '127.0.0.1', r));
    const port = (jwksServer.address() as AddressInfo).port;
    h = await startHarness({
      env: {
        JWT_SECRET: '',
        JWT_JWKS_URL: `http://127.0.0.1:${port}/jwks.json`,
        JWT_ISSUER: ISSUER,
        JWT_AUDIENCE: AUDIENCE,
      },
    });
  });
  after(async () => {
    await h.stop();
    jwksServer.close();
  });

  const sign = (alg: string, claims: Record<string, unknown> = {}) =>
    new SignJWT({ exp: now() + 600, iss: ISSUER, aud: AUDIENCE, ...claims })
      .setProtectedHeader({ alg, kid: `k-${alg}` })
      .setSubject(randomUUID())
      .sign(keys[alg]!.privateKey);
  const post = (token: string) => postProgress(h.url, token);

  for (const alg of ['RS256', 'ES256', 'EdDSA']) {
    it(`accepts a valid ${alg} token`, async () => {
      expect((await post(await sign(alg))).status).to.equal(202);
    });
  }

  it('answers 401 for a token from the same keys issued to another audience or by another issuer', async () => {
    const otherApp = await post(await sign('RS256', { aud: 'another-application' }));
    expectUnauthorized(otherApp);
    expect(otherApp.body.error.message).to.equal('token claim aud is invalid');
    const otherIssuer = await post(await sign('ES256', { iss: 'https://other-tenant.idp.test/' }));
    expectUnauthorized(otherIssuer);
    expect(otherIssuer.body.error.message).to.equal('token claim iss is invalid');
  });

  it('caches the key set instead of fetching it per request', async () => {
    for (let i = 0; i < 5; i++) expect((await post(await sign('RS256'))).status).to.equal(202);
    expect(jwksFetches).to.equal(1);
  });

  it('answers 401 for an HS256 token whose secret is the public key (algorithm confusion)', async () => {
    const publicJwkAsSecret = new TextEncoder().encode(JSON.stringify(keys.RS256!.jwk));
    const token = await new SignJWT({ exp: now() + 600, iss: ISSUER, aud: AUDIENCE })
      .setProtectedHeader({ alg: 'HS256', kid: 'k-RS256' })
      .setSubject(randomUUID())
      .sign(publicJwkAsSecret);
    const res = await post(token);
    expectUnauthorized(res);
    expect(res.body.error.message).to.equal('token algorithm not allowed');
  });

  it('answers 401 for a token signed by a key not in the set', async () => {
    const stranger = await generateKeyPair('RS256');
    const token = await new SignJWT({ exp: now() + 600, iss: ISSUER, aud: AUDIENCE })
      .setProtectedHeader({ alg: 'RS256', kid: 'k-unknown' })
      .setSubject(randomUUID())
      .sign(stranger.privateKey);
    expectUnauthorized(await post(token));
  });
});
