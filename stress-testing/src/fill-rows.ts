/**
 * 7 (child process): `rows` rows into the progress table of an embedded-engine data directory,
 * made inside the engine; viewer i (0 ≤ i < 1,000,000) has rows for films 0..rows/1e6-1
 * (read-path.ts derives both ids). Then merges progress_latest into one part, the state a
 * long-lived table's merges reach; otherwise the engine merged during the lookups.
 * Usage: tsx fill-rows.ts <dataDir> <rows>; prints JSON {rows, seconds, settleSeconds, parts}.
 */
import { createClickHouse } from '../../lib/clickhouse/client.js';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { createLogger } from '../../lib/log.js';

const [dir, rowsArg] = process.argv.slice(2);
const rows = Number(rowsArg);
const client = await createClickHouse({
  url: undefined,
  user: 'default',
  password: undefined,
  dataDir: dir!,
  requestTimeoutMs: 3_600_000,
});
await migrate(
  client,
  { database: 'analytics', cluster: undefined, ttlDays: 0 },
  MIGRATIONS,
  createLogger({ level: 'silent', pretty: false, name: 'fill' }),
);
const started = performance.now();
await client.command({
  query: `INSERT INTO analytics.progress_events
    (event_id, viewer_id, film_id, position_sec, duration_sec, occurred_at, received_at, schema_version, kafka_partition, kafka_offset)
    SELECT generateUUIDv4(),
           toUUID(concat('00000000-0000-4000-8000-', leftPad(lower(hex(number % 1000000)), 12, '0'))),
           toUUID(concat('11111111-0000-4000-8000-', leftPad(lower(hex(intDiv(number, 1000000))), 12, '0'))),
           number % 5000, 5400,
           now64(3) - toIntervalSecond(number % 86400), now64(3) - toIntervalSecond(number % 86400),
           1, 0, number
    FROM numbers(${rows})`,
});
const seconds = (performance.now() - started) / 1000;
const settled = await mergeLatest();
process.stdout.write(JSON.stringify({ rows, seconds, ...settled }));
await client.close();

async function mergeLatest(): Promise<{ settleSeconds: number; parts: number }> {
  const t0 = performance.now();
  await client.command({ query: 'OPTIMIZE TABLE analytics.progress_latest FINAL' });
  const rs = await client.query({
    query: `SELECT count() AS parts FROM system.parts
            WHERE active AND database = 'analytics' AND table = 'progress_latest'`,
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ parts: string | number }>();
  return { settleSeconds: Math.round((performance.now() - t0) / 100) / 10, parts: Number(r!.parts) };
}
