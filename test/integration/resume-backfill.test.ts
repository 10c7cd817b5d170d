import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { expect } from 'chai';
import { backfillResume } from '../../api/src/progress/resume-backfill.js';
import { ResumeStore } from '../../api/src/progress/resume-store.js';
import { loadConfig } from '../../lib/config/config.js';
import { createLogger } from '../../lib/log.js';
import { sqlHttpService, type SqlHttp } from '../../lib/sql-http/service.js';
import { startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { ROOT } from '../helpers/processes.js';
import { testEnv } from '../helpers/test-env.js';

const exec = promisify(execFile);

interface Version {
  viewer_id: string;
  film_id: string;
  position_sec: number;
  occurred_at: string;
  event_id: string;
}

describe('resume read model: backfill from ClickHouse progress_latest (npm run resume:backfill)', function () {
  this.timeout(180_000);
  let h: Harness;
  let db: string;
  const base = Date.parse('2026-06-01T10:00:00.000Z');
  /** Every version written to progress_latest, per viewer/film key. */
  const versions = new Map<string, Version[]>();
  const key = (v: { viewer_id: string; film_id: string }) => `${v.viewer_id}/${v.film_id}`;
  const newest = (k: string) =>
    [...versions.get(k)!].sort((a, b) => Date.parse(b.occurred_at) - Date.parse(a.occurred_at))[0]!;

  /** One INSERT per call: versions of a key land in different parts, not merged yet. */
  async function toClickHouse(rows: Version[]): Promise<void> {
    const ch = (iso: string) => `'${iso.replace('T', ' ').replace('Z', '')}'`;
    const values = rows.map(
      (r) =>
        `('${r.viewer_id}', '${r.film_id}', ${r.position_sec}, 5400, ${ch(r.occurred_at)}, ${ch(r.occurred_at)}, '${r.event_id}')`,
    );
    await testEnv().clickhouse.command({
      query: `INSERT INTO ${db}.progress_latest (viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, event_id) VALUES ${values.join(', ')}`,
    });
    for (const r of rows) versions.set(key(r), [...(versions.get(key(r)) ?? []), r]);
  }

  async function stored(): Promise<
    Map<string, { position_sec: number; occurred_at: string; event_id: string }>
  > {
    const { rows } = await h.pool.query<{
      viewer_id: string;
      film_id: string;
      position_sec: number;
      occurred_at: Date;
      event_id: string;
    }>('SELECT viewer_id, film_id, position_sec, occurred_at, event_id FROM progress_resume');
    return new Map(
      rows.map((r) => [
        key(r),
        { position_sec: r.position_sec, occurred_at: r.occurred_at.toISOString(), event_id: r.event_id },
      ]),
    );
  }
  const expected = (v: Version) => ({
    position_sec: v.position_sec,
    occurred_at: v.occurred_at,
    event_id: v.event_id,
  });

  // Keys of note: one PostgreSQL already holds a newer position of, one it holds an older one
  // of, one whose viewer is erased.
  let newerInPg: Version;
  let olderInPg: Version;
  let erased: Version;

  before(async () => {
    // The erasure row below only marks the viewer as erased: a running erasure job would also
    // delete its rows from progress_latest, at a moment of its own, and change what is read.
    h = await startHarness({ env: { ERASURE_JOBS_ENABLED: 'false' } });
    db = h.config.clickhouse.database;
    const at = (sec: number) => new Date(base + sec * 1000).toISOString();
    const viewers = Array.from({ length: 7 }, () => randomUUID());
    const films = Array.from({ length: 3 }, () => randomUUID());
    const first: Version[] = [];
    for (const viewer_id of viewers)
      for (const [i, film_id] of films.entries())
        first.push({ viewer_id, film_id, position_sec: 100 + i, occurred_at: at(i), event_id: randomUUID() });
    await toClickHouse(first);
    // Later versions of some keys, each batch its own part: newer, and one older arriving late.
    await toClickHouse(
      first
        .slice(0, 10)
        .map((v, i) => ({ ...v, position_sec: 2000 + i, occurred_at: at(600 + i), event_id: randomUUID() })),
    );
    await toClickHouse(
      first
        .slice(5, 8)
        .map((v, i) => ({ ...v, position_sec: 3000 + i, occurred_at: at(900 + i), event_id: randomUUID() })),
    );
    await toClickHouse(
      first
        .slice(12, 14)
        .map((v) => ({ ...v, position_sec: 1, occurred_at: at(-600), event_id: randomUUID() })),
    );

    newerInPg = first[3]!;
    olderInPg = first[15]!;
    erased = first[20]!;
    const upsertDirect = (v: Version) =>
      h.pool.query(`INSERT INTO progress_resume VALUES ($1, $2, $3, 5400, $4, $4, $5)`, [
        v.viewer_id,
        v.film_id,
        v.position_sec,
        v.occurred_at,
        v.event_id,
      ]);
    // The projection got further than ClickHouse for one key, and is behind for another.
    await upsertDirect({ ...newerInPg, position_sec: 4000, occurred_at: at(3600), event_id: randomUUID() });
    await upsertDirect({ ...olderInPg, position_sec: 5, occurred_at: at(-3600), event_id: randomUUID() });
    await h.pool.query(`INSERT INTO erasures (viewer_id) VALUES ($1)`, [erased.viewer_id]);
  });
  after(async () => {
    await h.stop();
  });

  const run = (batchRows: number, watchedSince?: Date) =>
    backfillResume({
      clickhouse: testEnv().clickhouse,
      database: db,
      store: new ResumeStore(h.pool, h.config.resume),
      batchRows,
      watchedSince,
    });
  /** What progress_resume should hold: ClickHouse's newest per key, except the two PostgreSQL knows better. */
  function wanted(): Map<string, ReturnType<typeof expected>> {
    const want = new Map<string, ReturnType<typeof expected>>();
    for (const k of versions.keys()) {
      if (k.startsWith(erased.viewer_id)) continue;
      want.set(k, expected(newest(k)));
    }
    return want;
  }

  it('copies the newest position of every viewer and film, page by page, and never moves a newer one back', async () => {
    const newerBefore = (await stored()).get(key(newerInPg))!;
    const done = await run(4);
    const keys = versions.size;
    expect(done.read).to.equal(keys);
    expect(done.batches).to.equal(Math.ceil(keys / 4));
    // Every key but the one PostgreSQL knew better and the erased viewer's three films.
    expect(done.written).to.equal(keys - 1 - 3);
    const want = wanted();
    want.set(key(newerInPg), newerBefore);
    expect(await stored()).to.deep.equal(want);
  });

  it('changes nothing when run again (idempotent)', async () => {
    const before = await stored();
    const done = await run(5);
    expect(done).to.include({ read: versions.size, written: 0 });
    expect(await stored()).to.deep.equal(before);
  });

  it('skips positions last watched before the retention period (the retention job would delete them)', async () => {
    await h.pool.query('TRUNCATE progress_resume');
    const since = new Date(base + 700_000);
    const done = await run(2, since);
    const recent = [...versions.keys()].filter((k) => Date.parse(newest(k).occurred_at) >= since.getTime());
    expect(recent).to.have.length(3);
    expect(done).to.include({ read: 3, written: 3 });
    expect(await stored()).to.deep.equal(new Map(recent.map((k) => [k, expected(newest(k))])));
  });

  describe('the command', () => {
    let sql: SqlHttp | undefined;
    const password = `pw-${randomUUID()}`;
    after(async () => {
      await sql?.service.stop();
    });
    const command = (env: Record<string, string>) =>
      exec(process.execPath, ['--import', 'tsx', 'cli/resume-backfill.ts', '--batch', '6'], {
        cwd: ROOT,
        env: {
          ...process.env,
          CLICKHOUSE_URL: '',
          CLICKHOUSE_DATABASE: db,
          POSTGRES_URL: h.config.postgres.url,
          SQL_HTTP_PASSWORD: password,
          ...env,
        },
      });

    it('reads through the SQL endpoint of the process that owns the embedded engine (a running npm start)', async () => {
      const config = loadConfig({
        CLICKHOUSE_DATA_DIR: testEnv().chdbDir,
        CLICKHOUSE_DATABASE: db,
        SQL_HTTP_PORT: '0',
        SQL_HTTP_PASSWORD: password,
      });
      sql = sqlHttpService(config, password, createLogger({ level: 'silent', pretty: false, name: 'sql' }));
      await sql.service.start();
      await h.pool.query('TRUNCATE progress_resume');
      const { stdout } = await command({ SQL_URL: `http://127.0.0.1:${sql.boundPort}` });
      expect(stdout).to.contain(
        `the SQL endpoint of the running \`npm start\` (http://127.0.0.1:${sql.boundPort})`,
      );
      const keys = versions.size;
      expect(stdout).to.contain(
        `${keys} positions read from progress_latest, ${keys - 3} written to progress_resume`,
      );
      expect(await stored()).to.deep.equal(wanted());
    });

    it('names the process holding the embedded data directory when no SQL endpoint answers', async () => {
      const failed = await command({
        CLICKHOUSE_DATA_DIR: testEnv().chdbDir,
        SQL_URL: 'http://127.0.0.1:9',
      }).then(
        () => undefined,
        (err: { code: number; stderr: string }) => err,
      );
      expect(failed?.code).to.equal(1);
      expect(failed?.stderr).to.contain(
        `resume:backfill: cannot open the embedded engine's data directory ${testEnv().chdbDir}: another process holds it`,
      );
    });
  });
});
