/**
 * npm run bench:segments [-- --quick]: the two segment targets, against the real API
 * process and PostgreSQL on this machine.
 *   rollout — POST /api/v1/segments with percent 50 over 1,000,000 users: time to the 201
 *             (every member written with its history row, one transaction). Target < 30 s.
 *   read    — GET /api/v1/users/{id}/segments at a fixed 2,000 requests/s for random users
 *             out of the 1,000,000 (so nearly every read misses any cache). Target p99 ≤ 10 ms.
 * Writes results/segments-<date>.json and SEGMENTS.md (results.ts).
 */
import { createHash } from 'node:crypto';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pg from 'pg';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { sleep } from '../../lib/retry.js';
import { startApiBench } from './api-bench-env.js';
import { runOpenLoop, type OpenLoopResult, type OpenLoopSpec } from './open-loop.js';
import { ROOT } from './proc.js';
import { writeResults } from './results.js';
import { describeWindow, measureRepeated } from './window.js';

const USERS = 1_000_000;
const TARGET_RPS = 2000;
const TARGET_P99_MS = 10;
const TARGET_ROLLOUT_SEC = 30;
const READ_ROUTE = '/api/v1/users/:user_id/segments';
/** Segments every user may already be in (each at its own share), so reads return some. */
const EXISTING = [
  ['BENCH_VOICE_MESSAGES', 0.3],
  ['BENCH_PREMIUM_TRIAL', 0.1],
  ['BENCH_KIDS_PROFILE', 0.2],
] as const;

/**
 * The bench's user i, as the SQL seed (USER_ID_SQL) computes it: the MD5 of
 * `bench-user-<i>` with the version (4) and variant (8) nibbles set, so it is a valid UUID.
 */
function userId(i: number): string {
  const h = createHash('md5').update(`bench-user-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20)}`;
}
const USER_ID_SQL = `overlay(overlay(md5('bench-user-' || i) placing '4' from 13) placing '8' from 17)::uuid`;

/** Users and memberships written straight into the replica tables, as the users topic would. */
async function seed(postgresUrl: string, users: number): Promise<{ seconds: number; memberships: number }> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  const t0 = performance.now();
  try {
    await client.query(
      `INSERT INTO users (id, version) SELECT ${USER_ID_SQL}, 1 FROM generate_series(1, $1) AS i`,
      [users],
    );
    for (const [slug, share] of EXISTING) {
      const id = (
        await client.query<{ id: string }>('INSERT INTO segments (slug) VALUES ($1) RETURNING id', [slug])
      ).rows[0]!.id;
      await client.query(
        `INSERT INTO user_segments (user_id, segment_id, source)
         SELECT u.id, s.id, 'manual' FROM users u, segments s WHERE s.id = $1 AND segment_bucket(s.seed, u.id) < $2`,
        [id, share],
      );
    }
    // As autovacuum would after a bulk load, but before the measurement rather than during it.
    await client.query('VACUUM ANALYZE users, segments, user_segments, segment_history');
    const memberships = Number(
      (await client.query<{ n: string }>('SELECT count(*) AS n FROM user_segments')).rows[0]!.n,
    );
    return { seconds: (performance.now() - t0) / 1000, memberships };
  } finally {
    await client.end();
  }
}

async function settle(postgresUrl: string): Promise<void> {
  const client = new pg.Client({ connectionString: postgresUrl });
  await client.connect();
  try {
    await client.query('VACUUM ANALYZE user_segments, segment_history');
    await client.query('CHECKPOINT');
  } finally {
    await client.end();
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { quick: { type: 'boolean', default: false }, out: { type: 'string' } },
  });
  const quick = values.quick;
  const outDir = values.out ?? join(ROOT, 'stress-testing');
  const users = quick ? 20_000 : USERS;
  const rate = quick ? 200 : TARGET_RPS;
  const durationSec = quick ? 2 : 10;
  const repeats = quick ? 1 : 3;
  const { ctx, url, control, postgresUrl, api, log, stop } = await startApiBench('segments', quick);
  try {
    const admin = await signHs256(ctx.secret, {
      sub: '00000000-0000-4000-8000-000000000001',
      roles: ['admin'],
      ttlSec: 6 * 3600,
    });
    log(`seeding ${users.toLocaleString('en')} users and their memberships`);
    const seeded = await seed(postgresUrl, users);
    log(`  ${seeded.seconds.toFixed(1)} s, ${seeded.memberships.toLocaleString('en')} memberships`);

    log(`rollout: creating a 50% segment over ${users.toLocaleString('en')} users`);
    const t0 = performance.now();
    const res = await fetch(`${url}/api/v1/segments`, {
      method: 'POST',
      headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
      body: JSON.stringify({ slug: 'BENCH_HALF', percent: 50 }),
    });
    const rolloutSec = (performance.now() - t0) / 1000;
    const created = (await res.json()) as { members?: number };
    if (res.status !== 201) throw new Error(`rollout answered ${res.status}: ${JSON.stringify(created)}`);
    const members = created.members ?? 0;
    log(`  ${rolloutSec.toFixed(2)} s, ${members.toLocaleString('en')} members`);

    // The rollout wrote ~1M rows: let the database settle as autovacuum and the checkpointer
    // would, so the reads measure the read path, not the aftermath of a bulk write.
    await settle(postgresUrl);
    await sleep(quick ? 200 : 5000);
    log(`read: GET /api/v1/users/{id}/segments at ${rate} req/s, ${repeats} windows of ${durationSec} s`);
    const reads = (seconds: number): OpenLoopSpec => ({
      url,
      rate,
      durationSec: seconds,
      maxConnections: 128,
      request: () => ({
        path: `/api/v1/users/${userId(1 + Math.floor(Math.random() * users))}/segments`,
        headers: { authorization: `Bearer ${admin}` },
      }),
    });
    const report = (r: OpenLoopResult) =>
      `${r.achievedPerSec} req/s p50 ${r.p50Ms} ms p99 ${r.p99Ms} ms max ${r.maxMs} ms non2xx ${r.non2xx} errors ${r.errors}`;
    // The first seconds at full rate after a start are reported on their own: the route's
    // code is still being compiled and the pool still opening connections.
    const coldStart = await runOpenLoop(reads(quick ? 1 : 5));
    log(`  cold start: ${report(coldStart)}`);
    // Let its backlog drain: the measured phase must not start behind schedule.
    await sleep(quick ? 200 : 3000);
    const read = await measureRepeated(url, READ_ROUTE, reads(durationSec), {
      repeats,
      pauseMs: quick ? 200 : 3000,
      target: { rps: TARGET_RPS, p99Ms: TARGET_P99_MS },
      control,
    });
    for (const w of read.windows) log(`  ${describeWindow(w)}`);
    const results = {
      date: new Date().toISOString(),
      quick,
      machine: { cpu: cpus()[0]?.model ?? 'unknown', cores: cpus().length, loadGeneratorOnSameCores: true },
      users,
      seed: seeded,
      rollout: {
        percent: 50,
        seconds: Number(rolloutSec.toFixed(3)),
        members,
        memberShare: Number((members / users).toFixed(4)),
        targetSeconds: TARGET_ROLLOUT_SEC,
        met: !quick && rolloutSec < TARGET_ROLLOUT_SEC,
      },
      readColdStart: coldStart,
      read: { durationSec, targetRps: TARGET_RPS, targetP99Ms: TARGET_P99_MS, ...read },
      apiPeakRssMiB: Math.round(api.peakRssMiB()),
    };
    writeResults(outDir, 'segments', results);
    process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
  } finally {
    await stop();
  }
}

main().catch((err: unknown) => {
  process.stderr.write(`bench failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
