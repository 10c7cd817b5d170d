import { expect } from 'chai';
import {
  purgeStaleResumePositions,
  RESUME_RETENTION_LOCK_KEY,
  resumeRetention,
} from '../../api/src/progress/resume-retention.js';
import { postgresOptions } from '../../lib/db/postgres.js';
import { createLogger } from '../../lib/log.js';
import { request, startHarness, type Harness } from '../helpers/harness.js';
import { randomUUID } from '../helpers/ids.js';
import { waitFor } from '../helpers/kafka-helpers.js';

describe('resume read model: retention (RESUME_RETENTION_DAYS)', function () {
  this.timeout(120_000);
  let h: Harness;
  before(async () => {
    // The API's own job is off (0): each test runs the purge itself, with nothing racing it.
    h = await startHarness({ env: { RESUME_RETENTION_DAYS: '0' } });
  });
  after(async () => {
    await h.stop();
  });

  /** `n` positions of one viewer, last watched `daysAgo` days ago; returns the viewer. */
  async function positions(n: number, daysAgo: number): Promise<string> {
    const viewer = randomUUID();
    await h.pool.query(
      `INSERT INTO progress_resume (viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, event_id)
       SELECT $1, gen_random_uuid(), 600, 5400, t, t, gen_random_uuid()
         FROM generate_series(1, $2::int) i, LATERAL (SELECT clock_timestamp() - make_interval(days => $3) AS t) x`,
      [viewer, n, daysAgo],
    );
    return viewer;
  }
  const countOf = async (viewer: string) =>
    (
      await h.pool.query<{ n: number }>(
        'SELECT count(*)::int AS n FROM progress_resume WHERE viewer_id = $1',
        [viewer],
      )
    ).rows[0]!.n;

  const filmOf = async (viewer: string) =>
    (
      await h.pool.query<{ film_id: string }>(
        'SELECT film_id FROM progress_resume WHERE viewer_id = $1 LIMIT 1',
        [viewer],
      )
    ).rows[0]!.film_id;

  it('deletes the positions last watched before the retention period, in page batches across the table, and keeps the others', async () => {
    // Interleaved on disk: stale and fresh rows share pages, over many batches.
    const stale: string[] = [];
    const fresh: string[] = [];
    for (let i = 0; i < 6; i++) {
      stale.push(await positions(1500, 400));
      fresh.push(await positions(1500, 10));
    }
    const almost = await positions(50, 364);
    const staleFilm = await filmOf(stale[0]!);
    const keptFilm = await filmOf(almost);
    const session = await h.pool.connect();
    let run;
    try {
      run = await purgeStaleResumePositions(session, 365, { pagesPerStatement: 4 });
    } finally {
      session.release();
    }
    expect(run).to.include({ deleted: 6 * 1500, ran: true, stopped: false });
    expect(run.pages).to.be.greaterThan(40);
    for (const v of stale) expect(await countOf(v)).to.equal(0);
    for (const v of fresh) expect(await countOf(v)).to.equal(1500);
    expect(await countOf(almost)).to.equal(50);

    // The reads see it: a deleted position is gone (the film plays from the start), a kept one resumes.
    const resume = async (viewer: string, film: string) =>
      (await request(`${h.url}/api/v1/progress/films/${film}`, { token: await h.token(viewer) })).status;
    expect(await resume(stale[0]!, staleFilm)).to.equal(404);
    expect(await resume(almost, keptFilm)).to.equal(200);

    const again = await h.pool.connect();
    try {
      expect((await purgeStaleResumePositions(again, 365)).deleted).to.equal(0);
    } finally {
      again.release();
    }
  });

  it('leaves the work to the replica that holds the lock, and never waits for a row the projection is writing', async () => {
    const stale = await positions(20, 400);
    const other = await h.pool.connect();
    const session = await h.pool.connect();
    try {
      // Another API replica is running the purge.
      await other.query('SELECT pg_advisory_lock($1)', [RESUME_RETENTION_LOCK_KEY]);
      expect(await purgeStaleResumePositions(session, 365)).to.include({ ran: false, deleted: 0 });
      expect(await countOf(stale)).to.equal(20);
      await other.query('SELECT pg_advisory_unlock($1)', [RESUME_RETENTION_LOCK_KEY]);

      // The viewer comes back to one stale film while the purge runs: its upsert holds the row.
      const film = await filmOf(stale);
      await other.query('BEGIN');
      await other.query(
        `UPDATE progress_resume SET position_sec = 700, occurred_at = clock_timestamp(), received_at = clock_timestamp()
          WHERE viewer_id = $1 AND film_id = $2`,
        [stale, film],
      );
      const started = performance.now();
      const run = await purgeStaleResumePositions(session, 365);
      expect(performance.now() - started).to.be.below(1500); // no lock wait (deadlock_timeout is 1 s)
      expect(run.deleted).to.equal(19);
      await other.query('COMMIT');
      const left = await h.pool.query<{ position_sec: number }>(
        'SELECT position_sec FROM progress_resume WHERE viewer_id = $1',
        [stale],
      );
      expect(left.rows).to.deep.equal([{ position_sec: 700 }]);
    } finally {
      await other.query('ROLLBACK').catch(() => {});
      other.release();
      session.release();
    }
  });

  it('runs as a background job of the API process: counts the rows and logs what it did', async () => {
    const stale = await positions(30, 366);
    const fresh = await positions(5, 1);
    const lines: Record<string, unknown>[] = [];
    const log = createLogger(
      { level: 'info', pretty: false, name: 'test' },
      { write: (line: string) => void lines.push(JSON.parse(line) as Record<string, unknown>) },
    );
    let counted = 0;
    const job = resumeRetention(
      postgresOptions(h.config, 'resume-retention-test'),
      365,
      log,
      (rows) => (counted += rows),
      { firstAfterMs: 0 },
    );
    await job.start();
    try {
      const done = await waitFor(
        'the purge to be logged',
        () => Promise.resolve(lines.find((l) => l.msg === 'resume_positions_purged')),
        (l) => l !== undefined,
        30_000,
        50,
      );
      expect(done).to.include({ deleted: 30, ran: true, retention_days: 365 });
      expect(done!.duration_ms).to.be.a('number');
      expect(counted).to.equal(30);
      expect(await countOf(stale)).to.equal(0);
      expect(await countOf(fresh)).to.equal(5);
    } finally {
      await job.stop();
    }
  });
});
