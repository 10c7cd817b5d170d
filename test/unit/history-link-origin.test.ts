import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import { createApp } from '../../api/src/app.js';
import type { TokenVerifier } from '../../api/src/auth/jwt-verifier.js';
import type { SegmentHistoryExport } from '../../api/src/segments/history-export.js';
import { HistoryLinks } from '../../api/src/segments/history-links.js';
import { HISTORY_DOWNLOAD_PATH, historyRoutes } from '../../api/src/segments/history.routes.js';
import { HistoryLink } from '../../lib/contracts/segment.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';

const admin: TokenVerifier = () =>
  Promise.resolve({ subject: '00000000-0000-4000-8000-000000000001', roles: ['admin'], expiresAtSec: 0 });
const FORGED = 'attacker.example';

/** GET with exactly these headers (Host included: fetch would not send a forged one). */
function get(
  port: number,
  path: string,
  headers: Record<string, string>,
): Promise<{ status: number; body: any }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, path, headers }, (res) => {
      let text = '';
      res.on('data', (c: Buffer) => (text += c.toString('utf8')));
      res.on('end', () => resolve({ status: res.statusCode!, body: JSON.parse(text) }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function serve(publicBaseUrl: string | undefined): Promise<Server> {
  const app = createApp({
    log: createLogger({ level: 'silent', pretty: false, name: 'test' }),
    http: { corsAllowedOrigins: [], bodyLimitBytes: 262144 },
    metrics: createMetrics(),
    routes: historyRoutes({
      verify: admin,
      admin: { role: 'admin' },
      links: new HistoryLinks(Buffer.alloc(32, 1), 900),
      exporter: {} as SegmentHistoryExport,
      reports: { publicBaseUrl },
    }),
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  return server;
}

describe('report link origin', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));
  const askWithForgedHosts = async (publicBaseUrl: string | undefined) => {
    const server = await serve(publicBaseUrl);
    servers.push(server);
    const res = await get((server.address() as AddressInfo).port, '/api/v1/segments/history?period=2020-01', {
      Authorization: 'Bearer any',
      Host: FORGED,
      'X-Forwarded-Host': `${FORGED}:8443`,
      'X-Forwarded-Proto': 'https',
    });
    expect(res.status, JSON.stringify(res.body)).to.equal(200);
    expect(HistoryLink.safeParse(res.body).success, JSON.stringify(res.body)).to.equal(true);
    return res.body.url as string;
  };

  it('takes the origin from PUBLIC_BASE_URL, never from Host or X-Forwarded-Host', async () => {
    const url = await askWithForgedHosts('https://analytics.example.com/');
    expect(url).not.to.contain(FORGED);
    expect(new URL(url).origin).to.equal('https://analytics.example.com');
    expect(new URL(url).pathname).to.equal(HISTORY_DOWNLOAD_PATH);
  });

  it('hands out a root-relative link when PUBLIC_BASE_URL is not set', async () => {
    const url = await askWithForgedHosts(undefined);
    expect(url).not.to.contain(FORGED);
    expect(url.startsWith(`${HISTORY_DOWNLOAD_PATH}?`), url).to.equal(true);
    expect(new URLSearchParams(url.split('?')[1]).get('signature')).to.be.a('string');
  });
});
