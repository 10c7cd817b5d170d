import { expect } from 'chai';
import { startHarness, type Harness } from '../helpers/harness.js';
import { rawRequest } from '../helpers/raw-request.js';

/**
 * /metrics on the API port answers only the addresses of METRICS_ALLOWED_CIDRS (here the
 * single host 127.0.0.1), judged by the socket: another loopback address stands in for a
 * player on the internet, and no header or path shape lets it in.
 */
describe('GET /metrics: for the networks Prometheus scrapes from only', function () {
  this.timeout(120_000);
  let h: Harness;

  before(async () => {
    h = await startHarness({ env: { METRICS_ALLOWED_CIDRS: '127.0.0.1/32' } });
  });
  after(async () => {
    await h.stop();
  });

  it('serves the figures to an allowed address', async () => {
    const res = await rawRequest(h.url, { path: '/metrics', localAddress: '127.0.0.1' });
    expect(res.status).to.equal(200);
    expect(res.body).to.include('# HELP http_request_duration_seconds');
  });

  it('answers 403 in the error shape to any other address, whatever it claims or however it asks', async () => {
    for (const path of ['/metrics', '/metrics/', '/metrics?format=text', '/METRICS']) {
      for (const headers of <Record<string, string>[]>[
        {},
        { 'X-Forwarded-For': '127.0.0.1', 'X-Real-IP': '127.0.0.1', Forwarded: 'for=127.0.0.1' },
      ]) {
        const res = await rawRequest(h.url, { path, headers, localAddress: '127.0.0.2' });
        expect(res.status, `${path} ${JSON.stringify(headers)}`).to.be.oneOf([403, 404]);
        expect(res.body).not.to.include('# HELP');
        expect(JSON.parse(res.body).error.code).to.be.oneOf(['forbidden', 'not_found']);
      }
    }
    const plain = await rawRequest(h.url, { path: '/metrics', localAddress: '127.0.0.2' });
    expect(plain.status).to.equal(403);
    expect(JSON.parse(plain.body).error).to.deep.include({
      code: 'forbidden',
      message: 'metrics are served to the networks in METRICS_ALLOWED_CIDRS only',
    });
  });
});
