/**
 * npm run bench:soak [-- --minutes N] [-- --rate R] [-- --quick] [-- --out DIR]: the real
 * stack (broker, API process, ETL process with the embedded engine, PostgreSQL) held at
 * half of its measured capacity (or R requests/s) for N minutes (default 30) on a mix of
 * progress events, user events, device assignments and segment reads. Reports each
 * process's heap and RSS slope with a verdict (soak-figures.ts), event-loop delay and GC
 * share from its own /metrics, and at the end whether ClickHouse holds every accepted event
 * exactly once. --quick: 2 minutes at a low fixed rate (the CI smoke). Writes
 * results/soak-<date>.json and, after a full run, SOAK.md (results.ts).
 */
import { randomUUID } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { createClickHouse } from '../../lib/clickhouse/client.js';
import { exposureStream } from '../../lib/contracts/exposure.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { userEventStream } from '../../lib/contracts/user-event.js';
import { sleep } from '../../lib/retry.js';
import { findFreePort } from '../../lib/runtime/ports.js';
import { BENCH_PG_OPTIONS, startApiBench, withDb } from './api-bench-env.js';
import { baseEnv, logFile, viewerTokens } from './context.js';
import { runOpenLoop, type OpenLoopRequest } from './open-loop.js';
import { machineWindow, processCpuSeconds, startTs, waitHttp } from './proc.js';
import { writeResults } from './results.js';
import {
  MIN_SPAN_SEC,
  overallVerdict,
  processFigures,
  sampleOf,
  sampleRow,
  SLOPE_BOUND_MIB_PER_HOUR,
  type ProcessSample,
} from './soak-figures.js';
import { sampleSum, scrape } from './window.js';

const { values } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    minutes: { type: 'string' },
    rate: { type: 'string' },
    out: { type: 'string' },
  },
});
const quick = values.quick;
const positive = (name: string, v: string | undefined, fallback: number) => {
  const n = v === undefined ? fallback : Number(v);
  if (!(n > 0)) throw new Error(`--${name} must be a positive number, got ${v}`);
  return n;
};
const minutes = positive('minutes', values.minutes, quick ? 2 : 30);
const givenRate = values.rate === undefined ? undefined : positive('rate', values.rate, 0);
const outDir = values.out ?? join(import.meta.dirname, '..');

/** Requests/s of the quick run: cheap enough for CI's two cores. */
const QUICK_RATE = 150;
/** The traffic: shares of requests by kind. */
const MIX = [
  ['progress', 0.5],
  ['events', 0.25],
  ['experiments', 0.15],
  ['segments', 0.1],
] as const;
type Kind = (typeof MIX)[number][0];
/** Capacity: the highest rate of the mix held with no error and p99 within this. */
const CAPACITY_P99_MS = 50;
/** Most times one request is sent again after a 503 before its 503 counts as its answer. */
const RETRIES_AFTER_503 = 5;
/** Share of experiments requests from a device never seen (an install); the rest return. */
const NEW_DEVICE_SHARE = 0.02;
const SAMPLE_SEC = quick ? 5 : 10;
const CHUNK_SEC = quick ? 10 : 60;
const durationSec = Math.round(minutes * 60);
/** The first sixth is warm-up (JIT, caches and pools filling): figures come from the rest. */
const warmupSec = durationSec / 6;
const DATABASE = 'soak';
const TABLES = {
  progress: progressStream.table!.name,
  events: userEventStream.table!.name,
  exposures: exposureStream.table!.name,
};

const { ctx, url, postgresUrl, api, stop } = await startApiBench('soak', quick);
const etlDataDir = join(ctx.workDir, 'chdb-etl');
const etlUrl = `http://127.0.0.1:${await findFreePort()}`;
const etl = startTs(
  'cli/etl.ts',
  baseEnv(ctx, {
    CLICKHOUSE_DATA_DIR: etlDataDir,
    CLICKHOUSE_DATABASE: DATABASE,
    ETL_METRICS_PORT: new URL(etlUrl).port,
    // Its resume projection writes the soak's own database, on the API's session settings.
    POSTGRES_URL: postgresUrl,
    PGOPTIONS: process.env.BENCH_PG_OPTIONS ?? BENCH_PG_OPTIONS,
  }),
  logFile(ctx, 'etl'),
);
try {
  await waitHttp(`${etlUrl}/healthz`);
  const viewers = Array.from({ length: quick ? 1000 : 5000 }, () => randomUUID());
  ctx.log(`seeding ${viewers.length} users (the viewers) and two segments`);
  await withDb(postgresUrl, async (db) => {
    // Straight into the replica tables, as the users topic would.
    await db.query('INSERT INTO users (id, version) SELECT unnest($1::uuid[]), 1', [viewers]);
    await db.query("INSERT INTO segments (slug) VALUES ('SOAK_ONE'), ('SOAK_TWO')");
    await db.query(
      `INSERT INTO user_segments (user_id, segment_id, source)
       SELECT u.id, s.id, 'manual' FROM users u, segments s WHERE segment_bucket(s.seed, u.id) < 0.3`,
    );
  });
  const tokens = await viewerTokens(ctx, viewers.length, viewers);
  const films = Array.from({ length: 256 }, () => randomUUID());
  const devices = Array.from({ length: quick ? 2000 : 20_000 }, () => `soak-${randomUUID()}`);
  const zeros = () => Object.fromEntries(MIX.map(([k]) => [k, 0])) as Record<Kind, number>;
  /**
   * The answers of one phase (the capacity search, the soak): each request's last answer by
   * kind and status; the 503s sent again; requests of unknown fate (a 503 in their history and
   * no 2xx at the end: their first send may still have reached the broker); resends that could
   * not connect (of unknown fate too).
   */
  const newTally = () => ({
    statuses: Object.fromEntries(MIX.map(([k]) => [k, {}])) as Record<Kind, Record<string, number>>,
    retried: zeros(),
    unknown: zeros(),
    resendErrors: 0,
  });
  type Tally = ReturnType<typeof newTally>;
  const capacityTally = newTally();
  let tally = capacityTally;
  const retrying = new Set<Promise<void>>();
  const pick = <T>(list: readonly T[]) => list[Math.floor(Math.random() * list.length)]!;
  const kindOf = (r: number): Kind => {
    for (const [kind, share] of MIX) if ((r -= share) < 0) return kind;
    return MIX[0][0];
  };
  // Every event a fresh id: a duplicate is answered 202 but stored once.
  const post = (kind: Kind, path: string, body: object, auth: string): OpenLoopRequest =>
    answered(kind, {
      ...{ path, method: 'POST', body: JSON.stringify(body) },
      headers: { authorization: auth, 'content-type': 'application/json' },
    });
  /**
   * A client as the API asks for one: a 503 is sent again, the same request (so the same
   * event_id), after its Retry-After. A 503 means "not known to be stored", so a send that
   * landed before its answer timed out is then stored twice by the broker and once by the ETL:
   * the exactly-once count below covers that path too. Counted in the tally of the phase that
   * sent the request first.
   */
  const answered = (kind: Kind, r: OpenLoopRequest, tries = 0, t: Tally = tally): OpenLoopRequest => ({
    ...r,
    onStatus: (status, headers) => {
      if (status !== 503 || tries >= RETRIES_AFTER_503) {
        t.statuses[kind][status] = (t.statuses[kind][status] ?? 0) + 1;
        if ((status === 503 || tries > 0) && !(status >= 200 && status < 300)) t.unknown[kind]++;
        return;
      }
      t.retried[kind]++;
      const again = sleep(1000 * Math.max(1, Number(headers['retry-after']) || 1))
        .then(() => resend(kind, answered(kind, r, tries + 1, t), t))
        .finally(() => retrying.delete(again));
      retrying.add(again);
    },
  });
  const resend = async (kind: Kind, r: OpenLoopRequest, t: Tally) => {
    try {
      const res = await fetch(`${url}${r.path}`, {
        method: r.method ?? 'GET',
        headers: r.headers,
        body: r.body,
      });
      await res.arrayBuffer();
      r.onStatus!(res.status, Object.fromEntries(res.headers));
    } catch {
      t.resendErrors++;
      t.unknown[kind]++;
    }
  };
  const mixRequest = (): OpenLoopRequest => {
    const i = Math.floor(Math.random() * viewers.length);
    const auth = `Bearer ${tokens[i]!}`;
    const position_sec = Math.floor(Math.random() * 5000);
    const kind = kindOf(Math.random());
    if (kind === 'progress') {
      const body = { position_sec, duration_sec: 5400, event_id: randomUUID() };
      return post(kind, `/api/v1/progress/films/${pick(films)}`, body, auth);
    }
    if (kind === 'events') {
      const body = { event_type: 'player.pause', event_id: randomUUID(), properties: { position_sec } };
      return post(kind, '/api/v1/events', body, auth);
    }
    if (kind === 'experiments') {
      const device = Math.random() < NEW_DEVICE_SHARE ? `soak-${randomUUID()}` : pick(devices);
      const headers = { 'device-token': device, ...(Math.random() < 0.5 ? { authorization: auth } : {}) };
      return answered(kind, { path: '/api/v1/experiments', headers });
    }
    return answered(kind, {
      path: `/api/v1/users/${viewers[i]!}/segments`,
      headers: { authorization: auth },
    });
  };
  const load = (rate: number, seconds: number, warmupSec = 0) =>
    runOpenLoop({ url, rate, durationSec: seconds, warmupSec, maxConnections: 256, request: mixRequest });

  let capacity: { requestsPerSec: number; p99BoundMs: number; steps: object[] } | undefined;
  let rate = quick ? QUICK_RATE : givenRate;
  if (rate === undefined) {
    ctx.log(`capacity: the mix at rising rates, 10 s each, until p99 > ${CAPACITY_P99_MS} ms or an error`);
    // Unmeasured first: a cold stack (JIT, pools, the broker's first batches) is not its capacity.
    await load(200, 10);
    const steps = [];
    let held = 0;
    for (let r = 400; r <= 20_000; r = Math.round(r * 1.5)) {
      const step = await load(r, 10, 2);
      const ok =
        step.non2xx + step.errors === 0 && step.achievedPerSec >= 0.95 * r && step.p99Ms <= CAPACITY_P99_MS;
      steps.push({ rate: r, ok, ...pickFigures(step) });
      ctx.log(
        `  ${r} req/s: ${step.achievedPerSec} achieved, p99 ${step.p99Ms} ms, ${step.non2xx + step.errors} errors`,
      );
      if (!ok) break;
      held = r;
      await sleep(3000); // the ETL's backlog drains before the next step
    }
    // Not even the first step held: its achieved rate is what the stack did.
    const requestsPerSec = held > 0 ? held : Math.max(1, steps[0]?.achievedPerSec ?? 2);
    capacity = { requestsPerSec, p99BoundMs: CAPACITY_P99_MS, steps };
    rate = Math.max(1, Math.round(requestsPerSec / 2));
    await sleep(5000);
  }

  // The soak's own tally from here: SOAK.md's errors are the soak's, not the capacity search's.
  tally = newTally();
  ctx.log(`soak: ${rate} req/s for ${minutes} min, /metrics of the API and the ETL every ${SAMPLE_SEC} s`);
  const samples: Record<'api' | 'etl', ProcessSample[]> = { api: [], etl: [] };
  let scrapeFailures = 0;
  const started = performance.now();
  const take = async () => {
    await Promise.all(
      (
        [
          ['api', url],
          ['etl', etlUrl],
        ] as const
      ).map(async ([name, target]) => {
        try {
          const s = await scrape(target);
          samples[name].push(sampleOf(s.text, (s.at - started) / 1000));
        } catch {
          scrapeFailures++;
        }
      }),
    );
  };
  let sampling = take();
  const timer = setInterval(() => {
    sampling = sampling.then(take);
  }, SAMPLE_SEC * 1000);
  const cpu0 = { api: processCpuSeconds(api.proc.pid) ?? 0, etl: processCpuSeconds(etl.proc.pid) ?? 0 };
  const machine = machineWindow();
  const chunks = [];
  const totals = { sent: 0, completed: 0, non2xx: 0, errors: 0 };
  for (let at = 0; at < durationSec; at += CHUNK_SEC) {
    const r = await load(rate, Math.min(CHUNK_SEC, durationSec - at));
    for (const k of Object.keys(totals) as Array<keyof typeof totals>) totals[k] += r[k];
    chunks.push({ atSec: at, ...pickFigures(r) });
    const heap = (s: ProcessSample[]) => ((s.at(-1)?.heapUsedBytes ?? NaN) / 2 ** 20).toFixed(0);
    ctx.log(
      `  ${at + CHUNK_SEC} s: ${r.achievedPerSec} req/s p99 ${r.p99Ms} ms, ${r.non2xx + r.errors} errors; ` +
        `heap API ${heap(samples.api)} MiB, ETL ${heap(samples.etl)} MiB`,
    );
  }
  clearInterval(timer);
  while (retrying.size > 0) await Promise.all(retrying);
  await sampling;
  await take();
  const soakSec = (performance.now() - started) / 1000;
  const cpuCores = {
    api: Number((((processCpuSeconds(api.proc.pid) ?? 0) - cpu0.api) / soakSec).toFixed(3)),
    etl: Number((((processCpuSeconds(etl.proc.pid) ?? 0) - cpu0.etl) / soakSec).toFixed(3)),
  };
  const busy = machine();
  for (const [name, child] of [
    ['API', api],
    ['ETL', etl],
  ] as const) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null)
      throw new Error(`the ${name} process exited`);
  }

  // Exposures are published after the answer: the API's counts of them settle first, for
  // longer than a send may wait for the broker (KAFKA_SEND_TIMEOUT_MS), both from one scrape.
  let exposures = await exposureCounts();
  for (let still = 0; still < 3;) {
    await sleep(1000);
    const now = await exposureCounts();
    still = now.published === exposures.published && now.failed === exposures.failed ? still + 1 : 0;
    exposures = now;
  }
  // Events accepted in the capacity search are stored too (its tally is empty without one).
  const sum = (f: (t: Tally) => number) => f(capacityTally) + f(tally);
  const accepted = {
    progress: sum((t) => t.statuses.progress['202'] ?? 0),
    events: sum((t) => t.statuses.events['202'] ?? 0),
    exposures: exposures.published,
  };
  // Sends whose fate the API could not know: each may be stored once, or not at all.
  const unknown = {
    progress: sum((t) => t.unknown.progress),
    events: sum((t) => t.unknown.events),
    exposures: exposures.failed,
  };
  ctx.log(`draining: waiting for the ETL to store ${JSON.stringify(accepted)}`);
  const drainDeadline = Date.now() + (quick ? 120_000 : 600_000);
  for (;;) {
    const text = (await scrape(etlUrl)).text;
    const inserted = (k: keyof typeof TABLES) =>
      sampleSum(text, 'etl_rows_inserted_total', { table: TABLES[k] });
    if ((Object.keys(TABLES) as Array<keyof typeof TABLES>).every((k) => inserted(k) >= accepted[k])) break;
    if (Date.now() > drainDeadline) {
      ctx.log('  the ETL did not store every accepted event in time: counting what it stored');
      break;
    }
    await sleep(1000);
  }
  // Late doubles (a retried insert, a replayed batch) would land within a batch wait.
  await sleep(2000);
  await etl.stop();
  const stored = await storedCounts(etlDataDir);
  const exactlyOnce = {
    ...Object.fromEntries(
      (Object.keys(TABLES) as Array<keyof typeof TABLES>).map((k) => [
        k,
        { accepted: accepted[k], unknown: unknown[k], ...stored[k] },
      ]),
    ),
    met: (Object.keys(TABLES) as Array<keyof typeof TABLES>).every(
      (k) =>
        stored[k].stored >= accepted[k] &&
        stored[k].stored <= accepted[k] + unknown[k] &&
        stored[k].distinct === stored[k].stored,
    ),
  };

  const opts = { warmupSec, boundMiBPerHour: SLOPE_BOUND_MIB_PER_HOUR, minSpanSec: MIN_SPAN_SEC };
  const processes = { api: processFigures(samples.api, opts), etl: processFigures(samples.etl, opts) };
  const memoryVerdict = overallVerdict(Object.values(processes).flatMap((p) => [p.heapUsed, p.rss]));
  const results = {
    date: new Date().toISOString(),
    quick,
    machine: {
      ...{
        cpu: cpus()[0]?.model ?? 'unknown',
        cores: cpus().length,
        memoryGiB: Math.round(totalmem() / 2 ** 30),
      },
      loadGeneratorOnSameCores: true,
    },
    minutes,
    mix: Object.fromEntries(MIX),
    newDeviceShare: NEW_DEVICE_SHARE,
    rate: {
      requestsPerSec: rate,
      from: quick ? 'quick' : capacity === undefined ? '--rate' : 'half of capacity',
    },
    ...(capacity === undefined ? {} : { capacity: { ...capacity, answers: answersOf(capacityTally) } }),
    load: { ...totals, ...answersOf(tally), chunkSec: CHUNK_SEC, chunks },
    bound: {
      slopeMiBPerHour: SLOPE_BOUND_MIB_PER_HOUR,
      minSpanSec: MIN_SPAN_SEC,
      warmupSec,
      sampleEverySec: SAMPLE_SEC,
    },
    memoryVerdict,
    exactlyOnce,
    processes,
    cpuCores,
    machineBusy: busy.busy,
    peakRssMiB: { api: Math.round(api.peakRssMiB()), etl: Math.round(etl.peakRssMiB()) },
    scrapeFailures,
    samples: {
      columns: ['tSec', 'heapUsedMiB', 'rssMiB', 'boundedMiB', 'lagP99Ms', 'lagMaxMs', 'gcSeconds'],
      api: samples.api.map(sampleRow),
      etl: samples.etl.map(sampleRow),
    },
  };
  writeResults(outDir, 'soak', results);
  const api_ = processes.api;
  const etl_ = processes.etl;
  const slope = (p: typeof api_) =>
    `heap ${p.heapUsed.slopeMiBPerHour} ± ${p.heapUsed.stdErrMiBPerHour} MiB/h (${p.heapUsed.verdict}), ` +
    `RSS ${p.rss.slopeMiBPerHour} ± ${p.rss.stdErrMiBPerHour} MiB/h (${p.rss.verdict}), ` +
    `loop p99 ${p.eventLoop.p99MedianMs}/${p.eventLoop.p99WorstMs} ms max ${p.eventLoop.maxMs} ms, GC ${(p.gcShare * 100).toFixed(2)}%`;
  ctx.log(`API: ${slope(api_)}`);
  ctx.log(`ETL: ${slope(etl_)}`);
  ctx.log(
    `memory: ${memoryVerdict} (bound ${SLOPE_BOUND_MIB_PER_HOUR} MiB/h); exactly once: ${exactlyOnce.met}`,
  );
  ctx.log(`done: results in ${outDir}/results/`);
  const { samples: _, ...summary } = results;
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);

  async function exposureCounts(): Promise<{ published: number; failed: number }> {
    const text = (await scrape(url)).text;
    const count = (result: string) => sampleSum(text, 'experiment_exposures_total', { result });
    return { published: count('published'), failed: count('failed') };
  }
  function answersOf(t: Tally) {
    const { statuses, retried, unknown, resendErrors } = t;
    return { statuses, retriedAfter503: retried, unknownFate: unknown, resendErrors };
  }
} finally {
  await etl.stop();
  await stop();
}

function pickFigures(r: Awaited<ReturnType<typeof runOpenLoop>>) {
  const { achievedPerSec, p50Ms, p99Ms, maxMs, non2xx, errors, sendLagP99Ms } = r;
  return { achievedPerSec, p50Ms, p99Ms, maxMs, non2xx, errors, sendLagP99Ms };
}

/** Plain count() and distinct event ids per table, read from the stopped ETL's data directory. */
async function storedCounts(dataDir: string) {
  // chdb binds one data directory per process: this one opens none but this.
  const ch = await createClickHouse({
    url: undefined,
    user: 'default',
    password: undefined,
    dataDir,
    requestTimeoutMs: 120_000,
  });
  try {
    const out = {} as Record<keyof typeof TABLES, { stored: number; distinct: number }>;
    for (const [k, table] of Object.entries(TABLES) as Array<[keyof typeof TABLES, string]>) {
      const rs = await ch.query({
        query: `SELECT count() AS n, uniqExact(event_id) AS d FROM ${DATABASE}.${table}`,
        format: 'JSONEachRow',
      });
      const [r] = await rs.json<{ n: string; d: string }>();
      out[k] = { stored: Number(r!.n), distinct: Number(r!.d) };
    }
    return out;
  } finally {
    await ch.close();
  }
}
