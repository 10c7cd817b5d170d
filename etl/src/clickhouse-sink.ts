import type { ClickHouseClient } from '@clickhouse/client';
import { inSpan } from '../../lib/apm/tracing.js';

export interface SinkOptions {
  table: string;
  /** insert_deduplication_token needs ClickHouse >= 22.2; off for older servers. */
  useDedupToken: boolean;
  /** Cluster mode inserts into a Distributed table: wait until shards have the block. */
  distributedSync: boolean;
}

/** Writes one insert block; resolves only when ClickHouse has accepted it. */
export class ClickHouseSink<R> {
  constructor(
    private readonly client: ClickHouseClient,
    private readonly opts: SinkOptions,
  ) {}

  async insert(rows: R[], token: string): Promise<void> {
    if (rows.length === 0) return;
    const settings: Record<string, string | number> = {};
    if (this.opts.useDedupToken) settings.insert_deduplication_token = token;
    if (this.opts.distributedSync) settings.insert_distributed_sync = 1;
    await inSpan(`ClickHouse INSERT ${this.opts.table}`, 'db', 'clickhouse', 'insert', () =>
      this.client.insert<R>({
        table: this.opts.table,
        values: rows,
        format: 'JSONEachRow',
        clickhouse_settings: settings,
      }),
    );
  }
}
