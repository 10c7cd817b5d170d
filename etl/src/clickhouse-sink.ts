import type { ClickHouseClient } from '@clickhouse/client';
import { inSpan } from '../../lib/apm/tracing.js';
import { insertRaw } from '../../lib/clickhouse/raw-insert.js';
import { joinLines } from './row-line.js';

export interface SinkOptions {
  table: string;
  /** insert_deduplication_token needs ClickHouse >= 22.2; off for older servers. */
  useDedupToken: boolean;
  /** Cluster mode inserts into a Distributed table: wait until shards have the block. */
  distributedSync: boolean;
}

/**
 * Writes one insert block of JSONEachRow lines (see row-line.ts); resolves only when
 * ClickHouse has accepted it. Times arrive in the contract's ISO-8601 form, which
 * `date_time_input_format=best_effort` parses (every server we run knows it, 18.16 too).
 */
export class ClickHouseSink {
  private readonly settings: Record<string, string | number>;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly opts: SinkOptions,
  ) {
    this.settings = { date_time_input_format: 'best_effort' };
    if (opts.distributedSync) this.settings.insert_distributed_sync = 1;
  }

  async insert(lines: readonly Buffer[], token: string): Promise<void> {
    if (lines.length === 0) return;
    const settings = this.opts.useDedupToken
      ? { ...this.settings, insert_deduplication_token: token }
      : this.settings;
    const body = joinLines(lines);
    await inSpan(`ClickHouse INSERT ${this.opts.table}`, 'db', 'clickhouse', 'insert', () =>
      insertRaw(this.client, { table: this.opts.table, body, settings }),
    );
  }
}
