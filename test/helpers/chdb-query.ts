/**
 * Runs one query on an embedded-engine data directory in a *separate* process and prints
 * JSONEachRow. chdb binds one data directory per process, so tests read the directory of
 * an ETL child process this way once the child has stopped.
 * Usage: tsx test/helpers/chdb-query.ts <dir> <sql>
 */
import { createClickHouse } from '../../lib/clickhouse/client.js';

const [dir, sql] = process.argv.slice(2);
const client = await createClickHouse({
  url: undefined,
  user: 'default',
  password: undefined,
  dataDir: dir!,
  requestTimeoutMs: 60_000,
});
const rs = await client.query({ query: sql!, format: 'JSONEachRow' });
process.stdout.write(JSON.stringify(await rs.json()));
await client.close();
