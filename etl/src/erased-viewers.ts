import type { ClickHouseClient } from '@clickhouse/client';

/**
 * The ETL's copy of the suppression list (lib/clickhouse/erased-viewers.ts). `current()`
 * answers a list at most `refreshMs` old: older, it reloads first (one load at a time for
 * every consumer of the process), and a failed load throws, so a consumer holds its
 * partition and retries rather than store events against a list it cannot renew. The
 * erasure job waits longer than that before its second delete pass.
 */
export class ErasedViewers {
  private list: ReadonlySet<string> = new Set();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<ReadonlySet<string>> | undefined;

  constructor(
    private readonly client: ClickHouseClient,
    private readonly table: string,
    private readonly refreshMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  current(): Promise<ReadonlySet<string>> {
    if (this.now() - this.loadedAt < this.refreshMs) return Promise.resolve(this.list);
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<ReadonlySet<string>> {
    const startedAt = this.now();
    const rs = await this.client.query({
      query: `SELECT DISTINCT toString(viewer_id) AS viewer FROM ${this.table}`,
      format: 'JSONEachRow',
    });
    this.list = new Set((await rs.json<{ viewer: string }>()).map((r) => r.viewer));
    // Counted from the start of the load: rows written during it may be missing.
    this.loadedAt = startedAt;
    return this.list;
  }
}

/** Items not about an erased viewer, and how many were. */
export function withoutErased<T>(
  items: T[],
  viewerOf: (item: T) => string | null | undefined,
  erased: ReadonlySet<string>,
): { rows: T[]; dropped: number } {
  if (erased.size === 0) return { rows: items, dropped: 0 };
  const rows = items.filter((item) => {
    const viewer = viewerOf(item);
    return viewer === null || viewer === undefined || !erased.has(viewer.toLowerCase());
  });
  return { rows, dropped: items.length - rows.length };
}
