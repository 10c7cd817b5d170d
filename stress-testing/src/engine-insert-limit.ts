/**
 * 5 (child process): the embedded engine's own insert rate for the very bytes and settings
 * the ETL's sink sends, in 100k-row blocks already serialised: the ETL's ceiling.
 * Usage: tsx engine-insert-limit.ts <dataDir> <rows>; prints JSON {rows, seconds, cpuSeconds,
 * byThread} (byThread: CPU per 1,000 rows by kind of thread, proc.ts).
 */
import { mkdirSync } from 'node:fs';
import { Session } from 'chdb';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { bootstrapStatements } from '../../lib/clickhouse/migrate.js';
import { kafkaRowLine } from '../../etl/src/row-line.js';
import { EMBEDDED_INSERT_SETTINGS } from '../../lib/clickhouse/raw-insert.js';
import { sampleMessage } from './prefill.js';
import { threadCpuMsPer1k, threadCpuSeconds } from './proc.js';

const [dir, rowsArg] = process.argv.slice(2);
const total = Number(rowsArg);
mkdirSync(dir!, { recursive: true });
const session = new Session(dir);
const ctx = { database: 'limit', cluster: undefined, ttlDays: 0 };
for (const sql of [...bootstrapStatements(ctx), ...MIGRATIONS.flatMap((m) => m.statements(ctx))]) {
  await session.queryAsync(sql);
}
const BLOCK = 100_000;
const blocks: Buffer[] = [];
for (let done = 0; done < total; done += BLOCK) {
  const lines: Buffer[] = [];
  for (let i = 0; i < Math.min(BLOCK, total - done); i++) {
    const m = sampleMessage();
    lines.push(kafkaRowLine(Buffer.from(JSON.stringify(m)), m, 0, String(done + i)));
  }
  blocks.push(Buffer.concat(lines));
}
const started = performance.now();
const cpuBefore = process.cpuUsage(); // the whole process: the engine's threads included
const threadsBefore = threadCpuSeconds(process.pid)!;
for (const values of blocks)
  await session.insert({
    table: 'limit.progress_events',
    values,
    format: 'JSONEachRow',
    settings: { ...EMBEDDED_INSERT_SETTINGS, date_time_input_format: 'best_effort' }, // as the ETL's sink sends them
  });
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
const byThread = threadCpuMsPer1k(threadsBefore, threadCpuSeconds(process.pid)!, total);
const cpuSeconds = (cpu.user + cpu.system) / 1e6;
const count = Number(session.query('SELECT count() FROM limit.progress_events', 'CSV').trim());
if (count !== total) throw new Error(`inserted ${count} rows, expected ${total}`);
process.stdout.write(JSON.stringify({ rows: total, seconds, cpuSeconds, byThread }));
session.close();
