import { connect } from 'node:net';
import { expect } from 'chai';
import { startHarness, type Harness } from '../helpers/harness.js';

/** What a client that sends `head` and then nothing gets back, and after how long. */
function stall(url: string, head: string): Promise<{ answer: string; ms: number }> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const started = Date.now();
    const socket = connect(Number(port), hostname, () => socket.write(head));
    let answer = '';
    socket.on('data', (d: Buffer) => (answer += d.toString('latin1')));
    socket.on('close', () => resolve({ answer, ms: Date.now() - started }));
    socket.on('error', reject);
    socket.setTimeout(20_000, () => socket.destroy(new Error('the server held the connection open')));
  });
}

/** The error of a raw answer's JSON body. */
function errorOf(answer: string): { code: string; message: string } {
  return (
    JSON.parse(answer.slice(answer.indexOf('\r\n\r\n') + 4)) as { error: { code: string; message: string } }
  ).error;
}

describe('a client too slow to send its request, or one the HTTP parser refuses', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    h = await startHarness({ env: { HTTP_REQUEST_TIMEOUT_MS: '1500' } });
  });
  after(() => h.stop());

  it('gets 408 and loses the connection within a second or two of HTTP_REQUEST_TIMEOUT_MS', async () => {
    const token = await h.token();
    const film = '1d6f0b0e-2b1f-4f7a-9c3e-5a4b3c2d1e0f';
    const body = await stall(
      h.url,
      `POST /api/v1/progress/films/${film} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 43\r\n\r\n{"position_',
    );
    expect(body.answer).to.match(/^HTTP\/1\.1 408/);
    expect(errorOf(body.answer)).to.include({ code: 'request_timeout' });
    expect(body.ms).to.be.within(1400, 6000);
    const headers = await stall(h.url, 'GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    expect(headers.answer).to.match(/^HTTP\/1\.1 408/);
    expect(headers.ms).to.be.within(1400, 6000);
    // The client's fault, not the server's: no 5xx in the access log or the metrics.
    const metrics = await (await fetch(`${h.url}/metrics`)).text();
    expect(metrics).to.match(/http_request_duration_seconds_count\{[^}]*status="400"/);
    expect(metrics).not.to.match(/http_request_duration_seconds_count\{[^}]*status="5\d\d"/);
    expect(h.logs.filter((l) => l.msg === 'http_request' && Number(l.status) >= 500)).to.deep.equal([]);
  });

  it('answers what the HTTP parser refuses in the one error shape, and closes the connection', async () => {
    const cases: [string, number, string][] = [
      ['FOO /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      ['get /healthz HTTP/1.1\r\nHost: x\r\n\r\n', 400, 'bad_request'],
      [`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      [
        'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}',
        400,
        'bad_request',
      ],
      [
        'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n{}',
        400,
        'bad_request',
      ],
      // An expectation no route can meet: Node's own 417 has an empty body.
      [
        'POST /api/v1/events HTTP/1.1\r\nHost: x\r\nExpect: 200-ok\r\nContent-Length: 2\r\n\r\n{}',
        417,
        'expectation_failed',
      ],
    ];
    // Refused from its declared length before the body is read: the connection goes too,
    // or the body still on its way would be read as a next request or time out into a 408.
    const token = await h.token();
    const declared = await stall(
      h.url,
      `POST /api/v1/events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${token}\r\n` +
        'Content-Type: application/json\r\nContent-Length: 100000000\r\n\r\n{"event_type":',
    );
    expect(declared.answer).to.match(/^HTTP\/1\.1 413 /);
    expect(declared.answer).to.match(/\r\nConnection: close\r\n/i);
    expect(declared.answer.match(/HTTP\/1\.1 /g)).to.have.length(1);
    expect(declared.ms).to.be.lessThan(1400);
    for (const [head, status, code] of cases) {
      const { answer, ms } = await stall(h.url, head);
      expect(answer, head.slice(0, 40)).to.match(new RegExp(`^HTTP/1\\.1 ${status} `));
      expect(answer).to.match(/\r\nContent-Type: application\/json; charset=utf-8\r\n/);
      expect(errorOf(answer), head.slice(0, 40)).to.include({ code });
      expect(ms).to.be.lessThan(1400); // answered at once, not at the request timeout
    }
  });
});
