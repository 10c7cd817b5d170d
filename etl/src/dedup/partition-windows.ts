import type { Logger } from '../../../lib/log.js';
import { IdWindow } from './id-window.js';
import type { SeenIdsSource } from './seen-ids-source.js';

export interface DedupOptions {
  maxIdsPerPartition: number;
  horizonMs: number;
}

/**
 * One IdWindow per assigned partition. A client retry carries the same event id and the
 * same key, hence lands on the same partition and is judged by the same window, whichever
 * API instance accepted it. After every rebalance the windows of assigned partitions are
 * rebuilt from ClickHouse before their next batch, so a restart or a partition moving to
 * another ETL process forgets nothing that was stored.
 */
export class PartitionWindows {
  private readonly windows = new Map<number, IdWindow>();
  private readonly loading = new Map<number, Promise<IdWindow>>();
  duplicatesDropped = 0;

  constructor(
    private readonly opts: DedupOptions,
    private readonly source: SeenIdsSource,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  /** Forget everything; windows reload lazily on their partition's next batch. */
  invalidate(): void {
    this.windows.clear();
    this.loading.clear();
  }

  async forPartition(partition: number): Promise<IdWindow> {
    const ready = this.windows.get(partition);
    if (ready !== undefined) return ready;
    let pending = this.loading.get(partition);
    if (pending === undefined) {
      pending = this.load(partition);
      this.loading.set(partition, pending);
    }
    try {
      return await pending;
    } finally {
      this.loading.delete(partition);
    }
  }

  /** Ids already stored from these offsets (after an insert whose outcome is unknown). */
  storedInRange(partition: number, firstOffset: string, lastOffset: string): Promise<Set<string>> {
    return this.source.storedInRange(partition, firstOffset, lastOffset);
  }

  /** Bytes held by all windows (for the memory metric and the benchmark). */
  get bytes(): number {
    let total = 0;
    for (const w of this.windows.values()) total += w.bytes;
    return total;
  }

  get ids(): number {
    let total = 0;
    for (const w of this.windows.values()) total += w.size;
    return total;
  }

  private async load(partition: number): Promise<IdWindow> {
    const started = this.now();
    const ids = await this.source.load(
      partition,
      started - this.opts.horizonMs,
      this.opts.maxIdsPerPartition,
    );
    const window = new IdWindow(this.opts.maxIdsPerPartition, this.opts.horizonMs);
    // Oldest first, all stamped "now": they expire one horizon after the rebuild at the
    // latest, which keeps them at least as long as the horizon promises.
    for (let i = ids.length - 1; i >= 0; i--) window.add(ids[i]!, started);
    this.windows.set(partition, window);
    this.log.info(
      { partition, ids: ids.length, bytes: window.bytes, load_ms: this.now() - started },
      'dedup_window_loaded',
    );
    return window;
  }
}
