import { expect } from 'chai';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { randomUUID } from '../helpers/ids.js';
import { request, startHarness, type Harness, type JsonResponse } from '../helpers/harness.js';
import { waitFor } from '../helpers/kafka-helpers.js';

type Media = Record<string, { schema?: object }>;
type Operation = {
  parameters?: { name: string; in: string; required?: boolean; schema?: object }[];
  requestBody?: { content: Media };
  responses: Record<string, { description?: string; content?: Media }>;
  security?: Record<string, unknown>[];
};
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

  it('is OpenAPI 3.1 and documents exactly the routes the app serves', () => {
    expect(doc.openapi).to.equal('3.1.0');
    const documented = Object.entries(doc.paths).flatMap(([p, ops]) =>
      Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`),
    );
    expect(h.api.routes.length).to.be.greaterThan(8);
    // Every served route documented, every documented route served (routes: the Koa router's own table).
    expect([...documented].sort()).to.deep.equal([...h.api.routes].sort());
  });

  it('is well formed: path parameters match their templates, schemas compile, security schemes exist', () => {
    const full = doc as unknown as {
      components: { securitySchemes: Record<string, unknown> };
      paths: Record<string, Record<string, Operation>>;
    };
    const problems: string[] = [];
    const check = (where: string, schema: object | undefined) => {
      if (schema === undefined) return;
      try {
        ajv.compile(schema);
      } catch (err) {
        problems.push(`${where}: ${(err as Error).message}`);
      }
    };
    for (const [path, ops] of Object.entries(full.paths)) {
      const templated = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries(ops)) {
        const where = `${method.toUpperCase()} ${path}`;
        const params = op.parameters ?? [];
        const inPath = params.filter((p) => p.in === 'path');
        expect(inPath.map((p) => p.name).sort(), `${where} path parameters`).to.deep.equal(templated);
        for (const p of inPath) expect(p.required, `${where} ${p.name} required`).to.equal(true);
        for (const p of params) check(`${where} ${p.in} ${p.name}`, p.schema);
        for (const [type, media] of Object.entries(op.requestBody?.content ?? {}))
          check(`${where} ${type}`, media.schema);
        expect(Object.keys(op.responses).length, `${where} responses`).to.be.greaterThan(0);
        for (const [status, res] of Object.entries(op.responses)) {
          expect(status, where).to.match(/^[1-5]\d\d$/);
          expect(res.description, `${where} ${status} description`).to.be.a('string').and.not.equal('');
          for (const [type, media] of Object.entries(res.content ?? {}))
            check(`${where} ${status} ${type}`, media.schema);
        }
        for (const requirement of op.security ?? []) {
          for (const scheme of Object.keys(requirement))
            expect(full.components.securitySchemes, `${where} security`).to.have.property(scheme);
        }
      }
    }
    expect(problems, problems.join('\n')).to.deep.equal([]);
  });

  it('lists on /readyz exactly the checks it runs', async () => {
    const res = await request(`${h.url}/readyz`);
    const checks = Object.keys((res.body as { checks: Record<string, string> }).checks).sort();
    expect(checks).to.deep.equal(['clickhouse', 'kafka', 'postgres']);
    const summary = (doc.paths['/readyz']!.get as unknown as { summary: string }).summary;
    for (const name of checks) expect(summary).to.contain(`\`${name}\``);
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
    conforms('/api/v1/progress', 'get', 200, await request(`${h.url}/api/v1/progress`, { token }));
    conforms('/api/v1/progress', 'get', 400, await request(`${h.url}/api/v1/progress?limit=0`, { token }));
    conforms(
      '/pages/experiment-stats/session',
      'post',
      400,
      await request(`${h.url}/pages/experiment-stats/session`, {
        rawBody: 'token=a&token=b',
        headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
      }),
    );
    conforms('/api/v1/progress', 'get', 400, await request(`${h.url}/api/v1/progress?limit=0x10`, { token }));
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
