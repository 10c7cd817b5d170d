import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { brotliCompressSync, gzipSync } from 'node:zlib';
import { createClient } from '@clickhouse/client';
import { drainPending } from 'chdb';
import { expect } from 'chai';
import { loadConfig } from '../../lib/config/config.js';
import { createLogger } from '../../lib/log.js';
import { AnalystEngine } from '../../lib/sql-http/engine.js';
import { sqlHttpService, type SqlHttp } from '../../lib/sql-http/service.js';
import { randomUUID } from '../helpers/ids.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { waitFor } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);
const PASSWORD = `pw-${randomUUID()}`;

/** A tiny JDBC program: prints each row tab-separated; extra args are driver properties. */
const JDBC_PROBE = `import java.sql.*;
import java.util.Properties;
public class Probe {
  public static void main(String[] a) throws Exception {
    Properties p = new Properties();
    p.setProperty("user", a[1]);
    p.setProperty("password", a[2]);
    for (int i = 4; i < a.length; i++) { String[] kv = a[i].split("=", 2); p.setProperty(kv[0], kv[1]); }
    try (Connection c = DriverManager.getConnection(a[0], p); Statement s = c.createStatement(); ResultSet rs = s.executeQuery(a[3])) {
      int n = rs.getMetaData().getColumnCount();
      while (rs.next()) {
        StringBuilder b = new StringBuilder();
        for (int i = 1; i <= n; i++) { if (i > 1) b.append('\\t'); b.append(rs.getString(i)); }
        System.out.println(b);
      }
    }
  }
}
`;

const JDBC_POM = `<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local</groupId><artifactId>jdbc-probe</artifactId><version>1</version>
  <properties>
    <maven.compiler.source>17</maven.compiler.source><maven.compiler.target>17</maven.compiler.target>
    <project.build.sourceEncoding>UTF-8</project.build.sourceEncoding>
  </properties>
  <dependencies>
    <dependency>
      <groupId>com.clickhouse</groupId><artifactId>clickhouse-jdbc</artifactId><version>0.9.4</version><classifier>all</classifier>
    </dependency>
  </dependencies>
</project>
`;

/**
 * The analysts' ClickHouse HTTP interface over the embedded engine the test process owns,
 * queried with the real clients (curl, @clickhouse/client) over data ingested through
 * API -> Kafka -> ETL.
 */
describe('SQL for analysts: ClickHouse HTTP interface over the embedded engine', function () {
  this.timeout(120_000);
  let h: Harness;
  let sql: SqlHttp;
  let url: string;
  let db: string;
  const viewer = randomUUID();
  const positions = Array.from({ length: 120 }, (_, i) => i * 7 + 1);
  const sumPositions = positions.reduce((a, b) => a + b, 0);
  const started: SqlHttp[] = [];

  async function startSql(env: Record<string, string> = {}): Promise<SqlHttp> {
    const config = loadConfig({
      CLICKHOUSE_DATA_DIR: testEnv().chdbDir,
      CLICKHOUSE_DATABASE: db,
      SQL_HTTP_PORT: '0',
      SQL_HTTP_PASSWORD: PASSWORD,
      ...env,
    });
    const s = sqlHttpService(config, PASSWORD, createLogger({ level: 'silent', pretty: false, name: 'sql' }));
    await s.service.start();
    started.push(s);
    return s;
  }

  async function post(
    query: string,
    opts: { params?: Record<string, string>; headers?: Record<string, string>; base?: string } = {},
  ): Promise<Response> {
    const qs = new URLSearchParams(opts.params ?? {}).toString();
    return fetch(`${opts.base ?? url}/?${qs}`, {
      method: 'POST',
      body: query,
      headers: opts.headers ?? { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': PASSWORD },
    });
  }

  async function rowCount(): Promise<number> {
    const rs = await testEnv().clickhouse.query({
      query: `SELECT count() c FROM ${db}.progress_events`,
      format: 'JSONEachRow',
    });
    return Number((await rs.json<{ c: string }>())[0]!.c);
  }

  before(async () => {
    h = await startHarness({ etl: true });
    db = h.config.clickhouse.database;
    const token = await h.token(viewer);
    const events = positions.map((p) => ({ film_id: randomUUID(), position_sec: p, duration_sec: 5400 }));
    expect((await request(`${h.url}/api/v1/progress/batch`, { token, body: { events } })).status).to.equal(
      202,
    );
    await waitFor('the events in ClickHouse', rowCount, (n) => n >= positions.length, 60_000);
    sql = await startSql({ SQL_MAX_CONCURRENT_QUERIES: '2', SQL_MAX_EXECUTION_TIME_SEC: '3' });
    url = `http://127.0.0.1:${sql.boundPort}`;
  });

  after(async () => {
    for (const s of started) await s.service.stop();
    await h.stop();
  });

  it('answers @clickhouse/client with the ingested rows, bound parameters and the analyst as currentUser()', async () => {
    const client = createClient({ url, username: 'analyst', password: PASSWORD, database: db });
    try {
      expect((await client.ping()).success).to.equal(true);
      const rs = await client.query({
        query: 'SELECT count() AS n, sum(position_sec) AS s FROM progress_events WHERE viewer_id = {v:UUID}',
        query_params: { v: viewer },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).to.deep.equal([{ n: String(positions.length), s: String(sumPositions) }]);
      const who = await client.query({
        query: 'SELECT currentUser() AS u, user() AS u2, version() AS v, timezone() AS tz',
        format: 'JSONEachRow',
      });
      const [row] = await who.json<{ u: string; u2: string; v: string; tz: string }>();
      expect(row).to.include({ u: 'analyst', u2: 'analyst' });
      expect(row!.v).to.match(/^\d+\.\d+/);
      expect(row!.tz).to.be.a('string').and.not.equal('');
      // As on clickhouse-server by default: introspection functions are off.
      const introspection = await client.query({
        query: "SELECT getSetting('allow_introspection_functions') AS on",
        format: 'JSONEachRow',
      });
      expect(await introspection.json()).to.deep.equal([{ on: false }]);
    } finally {
      await client.close();
    }
  });

  it('answers curl in TabSeparated, JSONEachRow, CSVWithNames and Parquet with the ingested values', async () => {
    const where = `FROM progress_events WHERE viewer_id = '${viewer}'`;
    const auth = ['-u', `analyst:${PASSWORD}`];
    const curl = async (q: string, extra: string[] = []) =>
      exec('curl', ['-sS', '-f', ...auth, ...extra, `${url}/?database=${db}`, '--data-binary', q], {
        encoding: 'buffer',
        maxBuffer: 64 << 20,
      });
    const tsv = await curl(`SELECT count(), sum(position_sec) ${where}`);
    expect(tsv.stdout.toString()).to.equal(`${positions.length}\t${sumPositions}\n`);
    const json = await curl(`SELECT position_sec ${where} ORDER BY position_sec FORMAT JSONEachRow`);
    expect(
      json.stdout
        .toString()
        .trim()
        .split('\n')
        .map((l) => (JSON.parse(l) as { position_sec: number }).position_sec),
    ).to.deep.equal(positions);
    const csv = await curl(`SELECT count() AS n, max(position_sec) AS m ${where} FORMAT CSVWithNames`);
    expect(csv.stdout.toString()).to.equal(`"n","m"\n${positions.length},${Math.max(...positions)}\n`);
    const parquet = await curl(`SELECT position_sec ${where} FORMAT Parquet`);
    expect(parquet.stdout.subarray(0, 4).toString()).to.equal('PAR1');
    const file = join(mkdtempSync(join(testEnv().workDir, 'pq-')), 'r.parquet');
    writeFileSync(file, parquet.stdout);
    const back = await testEnv().clickhouse.query({
      query: `SELECT count() n, sum(position_sec) s FROM file('${file}', Parquet)`,
      format: 'JSONEachRow',
    });
    const [read] = await back.json<{ n: unknown; s: unknown }>();
    expect([Number(read!.n), Number(read!.s)]).to.deep.equal([positions.length, sumPositions]);
  });

  it('answers a result of many blocks as one result: one JSON document, one header, one Values list; refuses Parquet past one block', async () => {
    // numbers() yields blocks of max_block_size rows: this result is several blocks.
    const rows = 150_000;
    const q = `SELECT number AS n, toString(number) AS s FROM numbers(${rows}) ORDER BY n`;
    const body = async (format: string) => {
      const res = await post(`${q} FORMAT ${format}`);
      expect(res.status, format).to.equal(200);
      return Buffer.from(await res.arrayBuffer());
    };
    for (const format of ['JSON', 'JSONCompact', 'JSONStrings']) {
      const doc = JSON.parse((await body(format)).toString()) as {
        rows: number;
        data: unknown[];
        meta: unknown[];
      };
      expect([doc.rows, doc.data.length, doc.meta.length], format).to.deep.equal([rows, rows, 2]);
      expect(doc.data[rows - 1], format).to.deep.equal(
        format === 'JSONCompact'
          ? [String(rows - 1), String(rows - 1)]
          : { n: String(rows - 1), s: String(rows - 1) },
      );
    }
    const csv = (await body('CSVWithNames')).toString().trimEnd().split('\n');
    expect(csv).to.have.length(rows + 1);
    expect(csv.filter((l) => l === '"n","s"')).to.have.length(1);
    expect(csv[rows]).to.equal(`${rows - 1},"${rows - 1}"`);
    const tsv = (await body('TSVWithNamesAndTypes')).toString().trimEnd().split('\n');
    expect(tsv.slice(0, 3)).to.deep.equal(['n\ts', 'UInt64\tString', '0\t0']);
    expect(tsv).to.have.length(rows + 2);
    const binary = await body('RowBinaryWithNamesAndTypes');
    const header = Buffer.from('\x02\x01n\x01s\x06UInt64\x06String', 'latin1');
    expect(binary.subarray(0, header.length).equals(header)).to.equal(true);
    expect(binary.indexOf(header, 1)).to.equal(-1);
    // Per row: 8 bytes of UInt64, a length byte, the digits.
    let digits = 0;
    for (let i = 0; i < rows; i++) digits += String(i).length;
    expect(binary.length).to.equal(header.length + rows * 9 + digits);
    const values = (await body('Values')).toString();
    expect(values.startsWith("(0,'0'),(1,'1')")).to.equal(true);
    expect(values.split('),(')).to.have.length(rows);
    const client = createClient({ url, username: 'analyst', password: PASSWORD, database: db });
    try {
      const rs = await client.query({ query: q, format: 'JSON' });
      const doc = await rs.json<{ n: string; s: string }>();
      expect([doc.rows, doc.data.length, doc.data[rows - 1]]).to.deep.equal([
        rows,
        rows,
        { n: String(rows - 1), s: String(rows - 1) },
      ]);
    } finally {
      await client.close();
    }
    const parquet = await post(`${q} FORMAT Parquet`);
    expect(parquet.status).to.equal(400);
    expect(parquet.headers.get('x-clickhouse-exception-code')).to.equal('48');
    expect(await parquet.text()).to.match(/Parquet.*more than one block.*row format/);
    const totals = await post(
      'SELECT number % 2 AS k, count() AS c FROM numbers(10) GROUP BY k WITH TOTALS FORMAT JSON',
    );
    expect(totals.status).to.equal(400);
    expect(totals.headers.get('x-clickhouse-exception-code')).to.equal('48');
    expect(await totals.text()).to.match(/WITH TOTALS/);
    // A SETTINGS clause after FORMAT (a setting at its value passes readonly) keeps the format.
    const settings = await post(`${q} FORMAT JSON SETTINGS max_threads = 1`);
    expect(settings.headers.get('x-clickhouse-format')).to.equal('JSON');
    expect((JSON.parse(await settings.text()) as { rows: number }).rows).to.equal(rows);
    // Values, named like a keyword, is backquoted in the engine's re-print: still its type.
    expect((await post('SELECT 1 FORMAT Values')).headers.get('x-clickhouse-format')).to.equal('Values');
  });

  it('speaks the protocol: /ping, query in the URL, default_format, query_id and the X-ClickHouse headers, gzip on request', async () => {
    const ping = await fetch(`${url}/ping`);
    expect(await ping.text()).to.equal('Ok.\n');
    const id = randomUUID();
    const res = await fetch(
      `${url}/?${new URLSearchParams({ query: 'SELECT 1 AS one', default_format: 'JSONEachRow', query_id: id }).toString()}`,
      { headers: { Authorization: `Basic ${Buffer.from(`analyst:${PASSWORD}`).toString('base64')}` } },
    );
    expect(res.status).to.equal(200);
    expect(await res.text()).to.equal('{"one":1}\n');
    expect(res.headers.get('x-clickhouse-query-id')).to.equal(id);
    expect(res.headers.get('x-clickhouse-format')).to.equal('JSONEachRow');
    expect(res.headers.get('x-clickhouse-timezone')).to.be.a('string');
    expect(JSON.parse(res.headers.get('x-clickhouse-summary')!)).to.have.property('read_rows');
    const headers = join(mkdtempSync(join(testEnv().workDir, 'gz-')), 'headers');
    const { stdout } = await exec('curl', [
      '-sS',
      '-D',
      headers,
      '--compressed',
      '-u',
      `analyst:${PASSWORD}`,
      `${url}/?enable_http_compression=1`,
      '--data-binary',
      'SELECT number FROM numbers(1000)',
    ]);
    expect(readFileSync(headers, 'utf8').toLowerCase()).to.contain('content-encoding: gzip');
    expect(stdout.split('\n').filter(Boolean)).to.have.length(1000);
  });

  it('reads a gzip or br request body as clickhouse-server does; refuses a corrupt or unknown encoding, and a PUT', async () => {
    const auth = { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': PASSWORD };
    const send = (body: Buffer, encoding: string, method = 'POST') =>
      fetch(`${url}/`, { method, body, headers: { ...auth, 'Content-Encoding': encoding } });
    for (const [encoding, body] of [
      ['gzip', gzipSync('SELECT 40 + 2')],
      ['br', brotliCompressSync('SELECT 40 + 2')],
    ] as const) {
      const res = await send(body, encoding);
      expect(await res.text(), encoding).to.equal('42\n');
    }
    // @clickhouse/client with request compression on sends its query gzipped.
    const client = createClient({
      url,
      username: 'analyst',
      password: PASSWORD,
      compression: { request: true, response: false },
    });
    try {
      const rs = await client.query({ query: 'SELECT 42 AS n', format: 'JSONEachRow' });
      expect(await rs.json()).to.deep.equal([{ n: 42 }]);
    } finally {
      await client.close();
    }
    const corrupt = await send(Buffer.from('SELECT 1'), 'gzip');
    expect(corrupt.status).to.equal(400);
    expect(corrupt.headers.get('x-clickhouse-exception-code')).to.equal('271');
    const zstd = await send(Buffer.from('SELECT 1'), 'zstd');
    expect(zstd.status).to.equal(415);
    // A bomb is counted inflated: refused past the query size limit.
    const bomb = await send(gzipSync(`SELECT '${'a'.repeat(1_000_000)}'`), 'gzip');
    expect(bomb.status).to.equal(413);
    const put = await fetch(`${url}/`, { method: 'PUT', body: 'SELECT 1', headers: auth });
    expect(put.status).to.equal(405);
    expect(put.headers.get('allow')).to.equal('GET, HEAD, POST');
  });

  it('refuses a missing or wrong password with AUTHENTICATION_FAILED (401 without credentials, 403 wrong)', async () => {
    const none = await post('SELECT 1', { headers: {} });
    expect(none.status).to.equal(401);
    expect(none.headers.get('x-clickhouse-exception-code')).to.equal('516');
    expect(await none.text()).to.match(/^Code: 516\. DB::Exception: default: Authentication failed/);
    const wrong = await post('SELECT 1', {
      headers: { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': 'x' },
    });
    expect(wrong.status).to.equal(403);
    expect(wrong.headers.get('x-clickhouse-exception-code')).to.equal('516');
    const otherUser = await post('SELECT 1', {
      headers: { 'X-ClickHouse-User': 'default', 'X-ClickHouse-Key': PASSWORD },
    });
    expect(otherUser.status).to.equal(403);
    // The X-ClickHouse headers beside another way, one of them right, are refused: neither
    // is picked silently. As on the server, URL credentials win over Authorization, and an
    // empty header or `Authorization: never` counts as none.
    const right = { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': PASSWORD };
    const basic = (pw: string) => `Basic ${Buffer.from(`analyst:${pw}`).toString('base64')}`;
    const both = await post('SELECT 1', { headers: { ...right, Authorization: basic('x') } });
    expect(both.status).to.equal(403);
    expect(await both.text()).to.match(/not allowed to use the X-ClickHouse headers and other/);
    const urlWins = await post('SELECT 1', {
      headers: { Authorization: basic(PASSWORD) },
      params: { user: 'analyst', password: 'x' },
    });
    expect(urlWins.status, 'a wrong URL password is not saved by a right Basic one').to.equal(403);
    const emptyKey = await post('SELECT 1', {
      headers: { Authorization: basic(PASSWORD), 'X-ClickHouse-Key': '' },
    });
    expect(emptyKey.status, 'an empty header is no second way').to.equal(200);
    // A URL parameter given twice is refused, never one of the two run.
    const twice = await fetch(
      `${url}/?${new URLSearchParams([
        ['query', 'SELECT 1'],
        ['query', 'SELECT 2'],
      ]).toString()}`,
      { headers: right },
    );
    expect(twice.status).to.equal(400);
    expect(await twice.text()).to.match(/'query' is given more than once/);
  });

  it("answers a user's bad SQL with the engine's error text and the server's status", async () => {
    const unknown = await post('SELECT no_such_column FROM progress_events', { params: { database: db } });
    expect(unknown.status).to.equal(404);
    expect(unknown.headers.get('x-clickhouse-exception-code')).to.equal('47');
    expect(await unknown.text()).to.match(/^Code: 47\. DB::Exception: .*no_such_column/);
    const syntax = await post('SELEC 1');
    expect(syntax.status).to.equal(400);
    expect(syntax.headers.get('x-clickhouse-exception-code')).to.equal('62');
    // Refused for what it asks, where clickhouse-server would answer 500: still the analyst's.
    const types = await post("SELECT plus('a', 1)");
    expect(types.status).to.equal(400);
    expect(types.headers.get('x-clickhouse-exception-code')).to.equal('43');
    expect(await types.text()).to.match(/^Code: 43\. DB::Exception: .*ILLEGAL_TYPE_OF_ARGUMENT/s);
    // What the embedded engine does not implement: clickhouse-server says 501, the query asked it.
    const missing = await post('SELECT * FROM system.detached_tables');
    expect(missing.status).to.equal(400);
    expect(missing.headers.get('x-clickhouse-exception-code')).to.equal('48');
  });

  describe('the official JDBC driver (com.clickhouse:clickhouse-jdbc from Maven Central)', function () {
    this.timeout(400_000);
    let classpath: string;

    before(async () => {
      const dir = mkdtempSync(join(testEnv().workDir, 'jdbc-'));
      mkdirSync(join(dir, 'src/main/java'), { recursive: true });
      writeFileSync(join(dir, 'pom.xml'), JDBC_POM);
      writeFileSync(join(dir, 'src/main/java/Probe.java'), JDBC_PROBE);
      await exec('mvn', ['-q', '-B', 'package', 'dependency:build-classpath', '-Dmdep.outputFile=cp.txt'], {
        cwd: dir,
        timeout: 360_000,
      });
      classpath = `${join(dir, 'target/classes')}:${readFileSync(join(dir, 'cp.txt'), 'utf8').trim()}`;
    });

    const jdbc = (query: string, ...props: string[]) =>
      exec(
        'java',
        [
          '-cp',
          classpath,
          'Probe',
          `jdbc:clickhouse://127.0.0.1:${sql.boundPort}/${db}`,
          'analyst',
          PASSWORD,
          query,
          ...props,
        ],
        { timeout: 60_000 },
      );

    it('reads the ingested rows and the analyst as currentUser() (client compression off)', async () => {
      const { stdout } = await jdbc(
        `SELECT count(), sum(position_sec), currentUser() FROM progress_events WHERE viewer_id = '${viewer}'`,
        'compress=false',
      );
      expect(stdout).to.equal(`${positions.length}\t${sumPositions}\tanalyst\n`);
    });

    it('reads a result of many blocks (one header for the driver to read)', async () => {
      const { stdout } = await jdbc('SELECT number FROM numbers(150000) ORDER BY number', 'compress=false');
      const lines = stdout.trimEnd().split('\n');
      expect([lines.length, lines[0], lines[149_999]]).to.deep.equal([150_000, '0', '149999']);
    });

    it('refuses a write from JDBC, and tells a client left on compress=1 which setting to change', async () => {
      const write = await jdbc('DROP TABLE progress_events', 'compress=false').then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );
      expect(write).to.contain('Code: 164');
      const compressed = await jdbc('SELECT 1').then(
        () => '',
        (e: { stderr: string }) => e.stderr,
      );
      expect(compressed).to.contain('compress=false');
    });
  });

  describe('read-only by construction', () => {
    const outfile = `/tmp/sa-sql-outfile-${randomUUID()}.csv`;
    const attempts: [string, string, Record<string, string>?][] = [
      ['insert', `INSERT INTO progress_events SELECT * FROM progress_events LIMIT 1`],
      ['alter', `ALTER TABLE progress_events DELETE WHERE 1`],
      ['drop', `DROP TABLE progress_events`],
      ['truncate', `TRUNCATE TABLE progress_events`],
      ['create', `CREATE TABLE x (a Int8) ENGINE = Memory`],
      ['create view', `CREATE VIEW v AS SELECT 1`],
      ['optimize', `OPTIMIZE TABLE progress_events FINAL`],
      ['kill', `KILL QUERY WHERE 1`],
      ['system', `SYSTEM STOP MERGES`],
      ['set readonly', `SET readonly = 0`],
      ['settings clause', `SELECT count() FROM progress_events SETTINGS readonly = 0`],
      ['settings clause limit', `SELECT count() FROM progress_events SETTINGS max_execution_time = 0`],
      ['url setting', `SELECT 1`, { readonly: '0' }],
      ['url limit', `SELECT 1`, { max_result_rows: '0' }],
      ['into outfile', `SELECT 1 INTO OUTFILE '${outfile}'`],
      ['file()', `SELECT * FROM file('/etc/passwd', 'LineAsString')`],
      ['scalar file()', `SELECT length(file('/etc/passwd'))`],
      ['quoted scalar file()', 'SELECT f FROM (SELECT "file"(\'/etc/hostname\') AS f)'],
      ['url()', `SELECT * FROM url('http://127.0.0.1:1/x', 'LineAsString')`],
      ['remote()', `SELECT * FROM remote('127.0.0.1:9000', system.one)`],
      ['s3()', `SELECT * FROM s3('http://127.0.0.1:1/bucket/x.csv', 'CSV', 'a Int8')`],
      ['executable()', `SELECT * FROM executable('date', 'TSV', 'a String')`],
      ['insert into function', `INSERT INTO FUNCTION file('${outfile}', 'CSV') SELECT 1`],
      ['multi-statement', `SELECT 1; DROP TABLE progress_events`],
      ['comment-hidden multi-statement', `SELECT 1 /* ; */ ; -- harmless\nDROP TABLE progress_events`],
      ['comment before drop', `/* SELECT */ DROP TABLE progress_events`],
      ['comment-split keyword', `SELECT 1 INTO/* x */OUTFILE '${outfile}'`],
      ['attach', `DETACH TABLE progress_events`],
      ['grant', `GRANT ALL ON *.* TO default`],
    ];
    it('is refused by the engine itself on an analyst connection, with no statement check in front', async () => {
      const engine = await AnalystEngine.open(testEnv().chdbDir, db, {
        maxExecutionTimeSec: 5,
        maxResultRows: 0,
        maxResultBytes: 0,
        maxMemoryBytes: 0,
        maxThreads: 1,
        maxConcurrentQueries: 1,
      });
      const before = await rowCount();
      try {
        for (const q of [
          'INSERT INTO progress_events SELECT * FROM progress_events LIMIT 1',
          'TRUNCATE TABLE progress_events',
          'SET readonly = 0',
          "SELECT * FROM file('/etc/passwd', 'LineAsString')",
        ]) {
          const lease = engine.acquire();
          try {
            const run = async () => {
              const r = await lease.stream(q, {
                database: db,
                format: 'TSV',
                signal: new AbortController().signal,
                params: {},
              });
              await r.chunks.next();
            };
            const err = await run().then(
              () => undefined,
              (e: unknown) => e,
            );
            expect(String(err), q).to.match(/Code: 164\..*readonly mode/);
          } finally {
            lease.release();
          }
        }
      } finally {
        engine.close();
      }
      expect(await rowCount()).to.equal(before);
    });

    for (const [name, q, params] of attempts) {
      it(`refuses ${name} with a clear error and changes nothing`, async () => {
        const before = await rowCount();
        const res = await post(q, { params: { database: db, ...params } });
        const body = await res.text();
        expect(res.status, body).to.be.oneOf([400, 403]);
        expect(res.headers.get('x-clickhouse-exception-code'), body).to.be.oneOf(['164', '62']);
        expect(body).to.match(/readonly mode|Multi-statements are not allowed/);
        expect(await rowCount()).to.equal(before);
        expect(existsSync(outfile)).to.equal(false);
        const tables = await post('SHOW TABLES', { params: { database: db } });
        expect(await tables.text()).to.contain('progress_events');
      });
    }
  });

  it('applies the limits: execution time, result rows, memory (separate servers with tight limits)', async () => {
    const tight = await startSql({ SQL_MAX_RESULT_ROWS: '1000', SQL_MAX_CONCURRENT_QUERIES: '1' });
    const base = `http://127.0.0.1:${tight.boundPort}`;
    const rows = await post('SELECT number FROM system.numbers LIMIT 5000', { base });
    expect(await rows.text()).to.contain('TOO_MANY_ROWS_OR_BYTES');
    // A query past its own memory limit asked too much: a 400, as the other limits.
    const memory = await startSql({ SQL_MAX_MEMORY_BYTES: String(64 * 2 ** 20) });
    const big = await post('SELECT length(groupArray(toString(number))) FROM numbers(20000000)', {
      base: `http://127.0.0.1:${memory.boundPort}`,
    });
    expect(await big.text()).to.match(/^Code: 241\. DB::Exception: .*memory limit exceeded/is);
    expect(big.status).to.equal(400);
    const slow = await post('SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))');
    expect(slow.status).to.equal(408);
    expect(slow.headers.get('x-clickhouse-exception-code')).to.equal('159');
  });

  it('refuses the query over the concurrency bound with TOO_MANY_SIMULTANEOUS_QUERIES at once, while ingestion goes on', async () => {
    const heavy = 'SELECT count() FROM system.numbers WHERE NOT ignore(sipHash64(number))';
    const running = [post(heavy), post(heavy)];
    // Each heavy query takes its lease once the server has read its request, which on a
    // loaded machine can take longer than any fixed wait: ask until both are running (a
    // probe that finds a free lease just answers). A pool with a third lease never refuses.
    let waited = 0;
    const third = await waitFor(
      'both leases taken by the heavy queries',
      async () => {
        const t0 = Date.now();
        const r = await post('SELECT 1');
        waited = Date.now() - t0;
        if (r.status !== 503) await r.text();
        return r;
      },
      (r) => r.status === 503,
      10_000,
      50,
    );
    expect(waited, 'the refusal comes at once').to.be.lessThan(1000);
    expect(third.status).to.equal(503);
    expect(third.headers.get('x-clickhouse-exception-code')).to.equal('202');
    expect(third.headers.get('retry-after')).to.equal('1');
    expect(await third.text()).to.contain('Too many simultaneous queries');
    const token = await h.token(randomUUID());
    const before = await rowCount();
    const accepted = await request(`${h.url}/api/v1/progress/films/${randomUUID()}`, {
      token,
      body: { position_sec: 1, duration_sec: 60 },
    });
    expect(accepted.status).to.equal(202);
    await waitFor('the event stored while analysts run heavy queries', rowCount, (n) => n > before, 30_000);
    await Promise.all(running.map(async (p) => (await p).text()));
    // The leases go back once the server has finished each stream, which can be a moment
    // after the client read its last byte.
    const after = await waitFor(
      'the leases free again',
      async () => {
        const r = await post('SELECT 1');
        await r.text();
        return r.status;
      },
      (s) => s === 200,
      5_000,
      50,
    );
    expect(after).to.equal(200);
  });

  it('streams a 10,000,000-row result (first bytes long before the end) and frees the query when the client goes away', async () => {
    const own = await startSql({ SQL_MAX_CONCURRENT_QUERIES: '2' });
    const base = `http://127.0.0.1:${own.boundPort}`;
    const t0 = Date.now();
    const res = await post('SELECT number FROM system.numbers LIMIT 10000000', { base });
    const reader = res.body!.getReader();
    let firstAt = 0;
    let newlines = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (firstAt === 0) firstAt = Date.now() - t0;
      for (const b of value) if (b === 10) newlines++;
    }
    const total = Date.now() - t0;
    expect(newlines).to.equal(10_000_000);
    expect(firstAt).to.be.lessThan(total / 2);

    // Two endless results, each read a little and abandoned by its client.
    for (let i = 0; i < 2; i++) {
      const abort = new AbortController();
      const endless = await fetch(`${base}/`, {
        method: 'POST',
        body: 'SELECT number FROM system.numbers',
        headers: { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': PASSWORD },
        signal: abort.signal,
      });
      expect(endless.status).to.equal(200);
      await endless.body!.getReader().read();
      abort.abort();
    }
    // Both cancelled queries gave their connection back: two run at once again.
    await waitFor(
      'both connections free',
      async () =>
        Promise.all([post('SELECT 1', { base }), post('SELECT 2', { base })]).then((r) =>
          r.map((x) => x.status),
        ),
      (s) => s.every((x) => x === 200),
      10_000,
    );
  });
  it('kills a GROUP BY still computing its first chunk when its client goes away (the connection is free again in seconds, not at max_execution_time) or the endpoint stops', async () => {
    const own = await startSql({ SQL_MAX_CONCURRENT_QUERIES: '2', SQL_MAX_EXECUTION_TIME_SEC: '60' });
    const base = `http://127.0.0.1:${own.boundPort}`;
    // Endless input: the aggregation never finishes a chunk; only max_execution_time (60 s) would end it.
    const heavy =
      'SELECT number % 1000 AS abandoned_group, count() FROM system.numbers GROUP BY abandoned_group';
    const running = async () => {
      const res = await post(
        "SELECT count() FROM system.processes WHERE query LIKE '%abandoned_group%' AND query NOT LIKE '%system.processes%'",
        { base },
      );
      expect(res.status).to.equal(200);
      return Number((await res.text()).trim());
    };
    const abort = new AbortController();
    const client = fetch(`${base}/`, {
      method: 'POST',
      body: heavy,
      headers: { 'X-ClickHouse-User': 'analyst', 'X-ClickHouse-Key': PASSWORD },
      signal: abort.signal,
    }).catch((err: unknown) => err);
    await waitFor('the GROUP BY running in the engine', running, (n) => n === 1, 10_000, 100);
    await new Promise((r) => setTimeout(r, 500)); // well into the aggregation
    const t0 = Date.now();
    abort.abort();
    expect(await client).to.be.instanceOf(Error);
    await waitFor('the GROUP BY gone from the engine', running, (n) => n === 0, 10_000, 100);
    // Its connection is back in the pool: both run at once again.
    const both = await Promise.all([post('SELECT 1', { base }), post('SELECT 2', { base })]);
    expect(both.map((r) => r.status)).to.deep.equal([200, 200]);
    expect(Date.now() - t0).to.be.lessThan(10_000);

    // A stop cuts the connections and kills their queries: the engine is not held until they end.
    const cut = post(heavy, { base }).catch((err: unknown) => err);
    await waitFor('another GROUP BY running', running, (n) => n === 1, 10_000, 100);
    const t1 = Date.now();
    await own.service.stop();
    await cut;
    await drainPending();
    expect(Date.now() - t1).to.be.lessThan(10_000);
  });
});
