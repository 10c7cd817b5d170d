/**
 * 5 (child process): the embedded engine's own JSONEachRow insert rate for the rows the
 * ETL writes, in large blocks, through the same client the ETL uses — with the rows
 * already serialised (the ETL must also decode and validate; this is the ceiling).
 * Usage: tsx engine-insert-limit.ts <dataDir> <rows>; prints JSON {rows, seconds}.
 */
import { Readable } from 'node:stream';
import { createClickHouse } from '../../lib/clickhouse/client.js';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { createLogger } from '../../lib/log.js';
import { isoToClickHouse } from '../../lib/contracts/time.js';
import { sampleMessage } from './prefill.js';

const [dir, rowsArg] = process.argv.slice(2);
const total = Number(rowsArg);
const client = await createClickHouse({
  url: undefined,
  user: 'default',
  password: undefined,
  dataDir: dir!,
  requestTimeoutMs: 600_000,
});
const ctx = { database: 'limit', cluster: undefined, ttlDays: 0 };
await migrate(client, ctx, MIGRATIONS, createLogger({ level: 'silent', pretty: false, name: 'limit' }));
const BLOCK = 100_000;
const blocks: string[] = [];
for (let done = 0; done < total; done += BLOCK) {
  const lines: string[] = [];
  for (let i = 0; i < Math.min(BLOCK, total - done); i++) {
    const m = sampleMessage();
    lines.push(
      JSON.stringify({
        ...m,
        occurred_at: isoToClickHouse(m.occurred_at),
        received_at: isoToClickHouse(m.received_at),
        kafka_partition: 0,
        kafka_offset: done + i,
      }),
    );
  }
  blocks.push(`${lines.join('\n')}\n`);
}
const started = performance.now();
for (const block of blocks) {
  await client.insert({
    table: 'limit.progress_events',
    values: Readable.from([block]),
    format: 'JSONEachRow',
  });
}
const seconds = (performance.now() - started) / 1000;
process.stdout.write(JSON.stringify({ rows: total, seconds }));
await client.close();
