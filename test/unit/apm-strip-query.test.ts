import { expect } from 'chai';
import { stripQueryStrings } from '../../lib/apm/strip-query.js';

describe('APM payload filter: no query strings', () => {
  it("drops the query of a request's URL in every field the agent fills, keeping the path", () => {
    const payload = {
      name: 'GET /api/v1/segments/history/download',
      context: {
        request: {
          url: {
            raw: '/api/v1/segments/history/download?period=2026-01&expires=1&signature=SIG',
            protocol: 'http:',
            hostname: 'api',
            pathname: '/api/v1/segments/history/download',
            search: '?period=2026-01&expires=1&signature=SIG',
            full: 'http://api/api/v1/segments/history/download?period=2026-01&expires=1&signature=SIG',
          },
        },
      },
    };
    const out = stripQueryStrings(payload);
    expect(JSON.stringify(out)).not.to.contain('SIG');
    expect(out.context.request.url).to.deep.equal({
      raw: '/api/v1/segments/history/download',
      protocol: 'http:',
      hostname: 'api',
      pathname: '/api/v1/segments/history/download',
      full: 'http://api/api/v1/segments/history/download',
    });
  });

  it("drops the query of an outgoing call's URL, and leaves payloads without URLs alone", () => {
    const span = { context: { http: { url: 'http://clickhouse:8123/?query_id=q#frag', method: 'POST' } } };
    expect(stripQueryStrings(span).context.http).to.deep.equal({
      url: 'http://clickhouse:8123/',
      method: 'POST',
    });
    const metric = { samples: { a: { value: 1 } } };
    expect(stripQueryStrings(metric)).to.deep.equal({ samples: { a: { value: 1 } } });
  });
});
