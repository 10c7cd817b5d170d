import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'chai';
import { startHarness, type Harness } from '../helpers/harness.js';
import { httpsRequest, tlsHandshake } from '../helpers/https-request.js';
import { randomUUID, uniqueName } from '../helpers/ids.js';
import { NginxEdge } from '../helpers/nginx.js';
import { makeTestCertificate } from '../helpers/test-certificate.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * HTTPS at the edge: the real nginx with production's tls.conf and plain-http.conf, a
 * certificate made at test time by a throwaway CA.
 */
describe('nginx edge over HTTPS', function () {
  this.timeout(60_000);
  let h: Harness;
  let edge: NginxEdge;
  let ca: string;

  before(async () => {
    const dir = join(testEnv().workDir, uniqueName('nginx-tls'));
    const cert = makeTestCertificate(join(dir, 'cert'));
    ca = readFileSync(cert.caFile, 'utf8');
    h = await startHarness();
    edge = new NginxEdge(join(dir, 'nginx'), [h.url.replace('http://', '')], cert);
    await edge.start();
  });
  after(async () => {
    await edge.stop();
    await h.stop();
  });

  it('passes a POST over HTTPS to the API (202) and tells browsers to stay on HTTPS', async () => {
    const res = await httpsRequest(`${edge.url}/api/v1/progress/films/${randomUUID()}`, {
      ca,
      method: 'POST',
      headers: { authorization: `Bearer ${await h.token()}`, 'content-type': 'application/json' },
      body: JSON.stringify({ position_sec: 3, duration_sec: 60 }),
    });
    expect(res.status, res.body).to.equal(202);
    expect(res.headers['strict-transport-security']).to.match(/max-age=\d+/);
  });

  it('refuses TLS 1.0 and 1.1, while the same client settings agree TLS 1.2', async () => {
    // SECLEVEL=0: OpenSSL 3 would not even offer TLS 1.0/1.1 otherwise, and the refusal
    // must come from the server. TLS 1.2 with the same settings shows the client can talk.
    const client = { ca, ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    const tls12 = await tlsHandshake(edge.port, { ...client, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' });
    expect(tls12).to.deep.equal({ protocol: 'TLSv1.2' });
    for (const version of ['TLSv1', 'TLSv1.1'] as const) {
      const old = await tlsHandshake(edge.port, { ...client, minVersion: version, maxVersion: version });
      expect(old, version).to.have.property('error');
      expect(String((old as { error: Error }).error), version).to.match(/protocol|version/i);
    }
  });

  it('answers health probes over plain HTTP and redirects everything else to HTTPS (308)', async () => {
    expect((await fetch(`${edge.plainUrl}/healthz`)).status).to.equal(200);
    const res = await fetch(`${edge.plainUrl}/api/v1/progress/films/x`, {
      method: 'POST',
      redirect: 'manual',
    });
    expect(res.status).to.equal(308);
    expect(res.headers.get('location')).to.equal('https://127.0.0.1/api/v1/progress/films/x');
  });
});
