/**
 * npm run bench:segments [-- --quick]: the two segment targets against the real API and
 * PostgreSQL: a 50% rollout over 1,000,000 users (time to the 201, target < 30 s), and
 * GET /api/v1/users/{id}/segments for random users at 2,000 requests/s (target p99 ≤ 10 ms).
 * Writes results/segments-<date>.json and SEGMENTS.md (results.ts).
 */
import { createHash } from 'node:crypto';
import { signHs256 } from '../../lib/auth/sign-token.js';
import { sleep } from '../../lib/retry.js';
import { readBenchArgs, startApiBench, withDb } from './api-bench-env.js';
import { runOpenLoop, type OpenLoopSpec } from './open-loop.js';
import { writeResults } from './results.js';
import { describeWindow, measureRepeated } from './window.js';

const TARGET_ROLLOUT_SEC = 30;
/** Segments every user may already be in (each at its own share), so reads return some. */
const EXISTING = [
  ['BENCH_VOICE_MESSAGES', 0.3],
  ['BENCH_PREMIUM_TRIAL', 0.1],
  ['BENCH_KIDS_PROFILE', 0.2],
] as const;

/** User i as the SQL seed computes it: MD5 of `bench-user-<i>` with the UUID version and variant nibbles set. */
function userId(i: number): string {
  const h = createHash('md5').update(`bench-user-${i}`).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20)}`;
}
const USER_ID_SQL = `overlay(overlay(md5('bench-user-' || i) placing '4' from 13) placing '8' from 17)::uuid`;

const args = readBenchArgs();
const { quick, rate, durationSec, target } = args;
const users = quick ? 20_000 : 1_000_000;
const { ctx, url, control, postgresUrl, api, stop } = await startApiBench('segments', quick);
try {
  const sub = '00000000-0000-4000-8000-000000000001';
  const admin = await signHs256(ctx.secret, { sub, roles: ['admin'], ttlSec: 21_600 });
  ctx.log(`seeding ${users.toLocaleString('en')} users and their memberships`);
  const t0 = performance.now();
  // Users and memberships written straight into the replica tables, as the users topic would.
  const memberships = await withDb(postgresUrl, async (db) => {
    await db.query(
      `INSERT INTO users (id, version) SELECT ${USER_ID_SQL}, 1 FROM generate_series(1, $1) AS i`,
      [users],
    );
    for (const [slug, share] of EXISTING) {
      const { id } = (
        await db.query<{ id: string }>('INSERT INTO segments (slug) VALUES ($1) RETURNING id', [slug])
      ).rows[0]!;
      await db.query(
        `INSERT INTO user_segments (user_id, segment_id, source)
         SELECT u.id, s.id, 'manual' FROM users u, segments s WHERE s.id = $1 AND segment_bucket(s.seed, u.id) < $2`,
        [id, share],
      );
    }
    // As autovacuum would after a bulk load, but before the measurement rather than during it.
    await db.query('VACUUM ANALYZE users, segments, user_segments, segment_history');
    return Number((await db.query<{ n: string }>('SELECT count(*) AS n FROM user_segments')).rows[0]!.n);
  });
  const seed = { seconds: (performance.now() - t0) / 1000, memberships };
  ctx.log(`  ${seed.seconds.toFixed(1)} s, ${memberships.toLocaleString('en')} memberships`);

  ctx.log(`rollout: creating a 50% segment over ${users.toLocaleString('en')} users`);
  const t1 = performance.now();
  const res = await fetch(`${url}/api/v1/segments`, {
    method: 'POST',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ slug: 'BENCH_HALF', percent: 50 }),
  });
  const rolloutSec = (performance.now() - t1) / 1000;
  const created = (await res.json()) as { members?: number };
  if (res.status !== 201) throw new Error(`rollout answered ${res.status}: ${JSON.stringify(created)}`);
  const members = created.members ?? 0;
  ctx.log(`  ${rolloutSec.toFixed(2)} s, ${members.toLocaleString('en')} members`);

  // Let the bulk write settle as autovacuum and the checkpointer would, so the reads measure
  // the read path, not its aftermath.
  await withDb(postgresUrl, async (db) => {
    await db.query('VACUUM ANALYZE user_segments, segment_history');
    await db.query('CHECKPOINT');
  });
  await sleep(quick ? 200 : 5000);
  ctx.log(`read: user segments at ${rate} req/s, ${args.repeats} windows of ${durationSec} s`);
  const reads = (seconds: number): OpenLoopSpec => ({
    ...{ url, rate, durationSec: seconds, maxConnections: 128 },
    request: () => ({
      path: `/api/v1/users/${userId(1 + Math.floor(Math.random() * users))}/segments`,
      headers: { authorization: `Bearer ${admin}` },
    }),
  });
  // The first seconds at full rate are reported on their own: the route is still being
  // compiled and the pool still opening connections. Then its backlog drains.
  const coldStart = await runOpenLoop(reads(quick ? 1 : 5));
  ctx.log(`  cold start: p50 ${coldStart.p50Ms} ms p99 ${coldStart.p99Ms} ms max ${coldStart.maxMs} ms`);
  await sleep(args.pauseMs);
  const route = '/api/v1/users/:user_id/segments';
  const read = await measureRepeated(url, route, reads(durationSec), { ...args, control });
  for (const w of read.windows) ctx.log(`  ${describeWindow(w)}`);
  const memberShare = Number((members / users).toFixed(4));
  const rolloutTarget = { targetSeconds: TARGET_ROLLOUT_SEC, met: !quick && rolloutSec < TARGET_ROLLOUT_SEC };
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: args.machine,
    users,
    seed,
    rollout: { percent: 50, seconds: Number(rolloutSec.toFixed(3)), members, memberShare, ...rolloutTarget },
    readColdStart: coldStart,
    read: { durationSec, targetRps: target.rps, targetP99Ms: target.p99Ms, ...read },
    apiPeakRssMiB: Math.round(api.peakRssMiB()),
  };
  writeResults(args.outDir, 'segments', results);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} finally {
  await stop();
}
