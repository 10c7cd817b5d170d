import { expect } from 'chai';
import { ClickHouseSink } from '../../etl/src/clickhouse-sink.js';
import { streamDecoder } from '../../etl/src/stream-row.js';
import { progressStream } from '../../lib/contracts/progress.js';
import { MIGRATIONS } from '../../lib/clickhouse/migrations/index.js';
import { migrate } from '../../lib/clickhouse/migrate.js';
import { createLogger } from '../../lib/log.js';
import { uniqueName } from '../helpers/ids.js';
import { progressMessage } from '../helpers/progress-messages.js';
import { testEnv } from '../helpers/test-env.js';

const decodeProgress = streamDecoder(progressStream);

/**
 * The first line of defence on its own: a block inserted again with the same
 * insert_deduplication_token (topic:partition:first-last) is dropped by the production
 * table on the current engine (plain MergeTree with non_replicated_deduplication_window).
 * The 18.16 server has no such setting; there the reconcile-before-retry path covers it.
 */
describe('insert_deduplication_token on the production schema', () => {
  it('drops a replayed block with the same token, keeps a block with another token', async () => {
    const { clickhouse } = testEnv();
    const database = uniqueName('tok');
    await migrate(
      clickhouse,
      { database, cluster: undefined, ttlDays: 30 },
      MIGRATIONS,
      createLogger({ level: 'silent', pretty: false, name: 't' }),
    );
    const sink = new ClickHouseSink(clickhouse, {
      table: `${database}.progress_events`,
      useDedupToken: true,
      distributedSync: false,
    });
    const messages = Array.from({ length: 50 }, () => progressMessage());
    const rows = messages.map((m, i) => {
      const decoded = decodeProgress(Buffer.from(JSON.stringify(m)), 0, String(i));
      if (!decoded.ok) throw new Error(decoded.reason);
      return decoded.row;
    });
    const count = async () =>
      Number(
        (
          await (
            await clickhouse.query({
              query: `SELECT count() AS n FROM ${database}.progress_events`,
              format: 'JSONEachRow',
            })
          ).json<{ n: string }>()
        )[0]!.n,
      );
    await sink.insert(rows, 'progress:0:0-49');
    await sink.insert(rows, 'progress:0:0-49'); // a retry after an ambiguous failure
    expect(await count()).to.equal(50);
    await sink.insert(rows, 'progress:0:50-99'); // not a replay: stored
    expect(await count()).to.equal(100);
  });
});
