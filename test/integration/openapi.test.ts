import { expect } from 'chai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { randomUUID } from '../helpers/ids.js';
import { request, startHarness, type Harness, type JsonResponse } from '../helpers/harness.js';
import { waitFor } from '../helpers/kafka-helpers.js';

type Doc = {
  openapi: string;
  paths: Record<
    string,
    Record<string, { responses: Record<string, { content?: Record<string, { schema?: object }> }> }>
  >;
};

describe('OpenAPI 3.1 document', function () {
  this.timeout(120_000);
  let h: Harness;
  let doc: Doc;
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv2020) => void)(ajv);

  before(async () => {
    h = await startHarness({ etl: true });
    doc = (await request(`${h.url}/openapi.json`)).body as Doc;
  });
  after(async () => {
    await h.stop();
  });

  /**
   * Checks a real answer has the status the case is about, then validates it against the
   * documented schema for its path, method and status.
   */
  function conforms(path: string, method: string, status: number, res: JsonResponse): void {
    expect(res.status, `${method.toUpperCase()} ${path}: ${JSON.stringify(res.body)}`).to.equal(status);
    const documented = doc.paths[path]?.[method]?.responses[String(res.status)];
    expect(documented, `${method.toUpperCase()} ${path} ${res.status} is documented`).to.not.equal(undefined);
    const schema = documented!.content?.['application/json']?.schema;
    expect(schema, `${method} ${path} ${res.status} has a JSON schema`).to.not.equal(undefined);
    const validate = ajv.compile(schema!);
    expect(
      validate(res.body),
      `${method} ${path} ${res.status}: ${ajv.errorsText(validate.errors)}`,
    ).to.equal(true);
  }

  it('is OpenAPI 3.1 and documents every route the app serves', () => {
    expect(doc.openapi).to.equal('3.1.0');
    const documented = new Set(
      Object.entries(doc.paths).flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`)),
    );
    expect(h.api.routes.length).to.be.greaterThan(8);
    for (const route of h.api.routes) expect(documented.has(route), route).to.equal(true);
  });

  it('matches real answers: accepted, batch, resume, not found, invalid, unauthorized, health', async () => {
    const token = await h.token();
    const film = randomUUID();
    conforms(
      '/api/v1/progress/films/{film_id}',
      'post',
      202,
      await request(`${h.url}/api/v1/progress/films/${film}`, {
        token,
        body: { position_sec: 3, duration_sec: 9 },
      }),
    );
    conforms(
      '/api/v1/progress/batch',
      'post',
      202,
      await request(`${h.url}/api/v1/progress/batch`, {
        token,
        body: { events: [{ film_id: film, position_sec: 1, duration_sec: 9 }] },
      }),
    );
    conforms(
      '/api/v1/events',
      'post',
      202,
      await request(`${h.url}/api/v1/events`, {
        token,
        body: { event_type: 'search', properties: { q: 'x' } },
      }),
    );
    conforms(
      '/api/v1/events/batch',
      'post',
      202,
      await request(`${h.url}/api/v1/events/batch`, {
        token,
        body: { events: [{ event_type: 'player.pause' }] },
      }),
    );
    const resume = await waitFor(
      'resume',
      () => request(`${h.url}/api/v1/progress/films/${film}`, { token }),
      (r) => r.status === 200,
    );
    conforms('/api/v1/progress/films/{film_id}', 'get', 200, resume);
    conforms(
      '/api/v1/progress/films/{film_id}',
      'get',
      404,
      await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, { token }),
    );
    conforms(
      '/api/v1/progress/films/{film_id}',
      'post',
      400,
      await request(`${h.url}/api/v1/progress/films/${film}`, {
        token,
        body: { position_sec: -1, duration_sec: 9 },
      }),
    );
    conforms(
      '/api/v1/progress/batch',
      'post',
      401,
      await request(`${h.url}/api/v1/progress/batch`, { body: { events: [] } }),
    );
    conforms('/healthz', 'get', 200, await request(`${h.url}/healthz`));
    conforms('/readyz', 'get', 200, await request(`${h.url}/readyz`));
  });

  it('serves interactive docs without any CDN', async () => {
    const page = await fetch(`${h.url}/docs`);
    const html = await page.text();
    expect(html).to.contain('/openapi.json');
    // The page's own script and stylesheet, each served here.
    const assets = html.match(/\/docs\/assets\/[\w.-]+/g) ?? [];
    expect(assets).to.include.members(['/docs/assets/swagger-ui-bundle.js', '/docs/assets/swagger-ui.css']);
    for (const asset of assets) {
      const res = await fetch(`${h.url}${asset}`);
      expect(res.status, asset).to.equal(200);
      expect((await res.arrayBuffer()).byteLength).to.be.greaterThan(1000);
    }
    expect(html).not.to.match(/https?:\/\//);
  });
});
