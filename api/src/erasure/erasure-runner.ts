import { sleep } from '../../../lib/retry.js';
import type { Logger } from '../../../lib/log.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { ClickHouseEraser } from './clickhouse-eraser.js';
import { LostLeaseError, type Claimed, type ErasureStore } from './erasure-store.js';

export interface RunnerOptions {
  pollMs: number;
  /** Wait after the suppression entry before the second delete pass (ERASURE_SETTLE_MS). */
  settleMs: number;
}

/**
 * Runs erasure jobs, one at a time per process, any number of processes: a job is leased
 * (erasure-store.ts). Every step is idempotent and recorded when done, so a job resumed by
 * another process after a crash carries on where it stopped:
 * 1. `suppress`: the viewer enters the suppression list, so from now on every ETL drops
 *    their messages (within ERASURE_LIST_REFRESH_MS);
 * 2. first delete pass over every ClickHouse table holding viewer data;
 * 3. wait until ERASURE_SETTLE_MS after the suppression: a batch an ETL stored with a list
 *    from before it has landed by then;
 * 4. second delete pass: what such a batch stored goes too;
 * 5. PostgreSQL, in one transaction; then done, audited.
 * Logs name the erasure, never the viewer.
 */
export class ErasureRunner implements Service {
  readonly name = 'erasure-runner';
  private stopping = new AbortController();
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;

  constructor(
    private readonly store: ErasureStore,
    private readonly clickhouse: ClickHouseEraser,
    private readonly opts: RunnerOptions,
    private readonly log: Logger,
  ) {}

  start(): Promise<void> {
    this.stopping = new AbortController();
    this.loop = this.run();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    this.wake?.();
    await this.loop;
  }

  /** A job was requested: look now rather than at the next poll. */
  poke(): void {
    this.wake?.();
  }

  private async run(): Promise<void> {
    const signal = this.stopping.signal;
    while (!signal.aborted) {
      let worked = false;
      try {
        const job = await this.store.claim();
        if (job !== undefined) {
          worked = true;
          await this.attempt(job);
        }
      } catch (err) {
        if (!signal.aborted) this.log.warn({ err }, 'erasure_poll_failed');
      }
      if (!worked && !signal.aborted)
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, this.opts.pollMs);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
    }
  }

  private async attempt(job: Claimed): Promise<void> {
    const log = this.log.child({ erasure_id: job.id, attempt: job.attempt });
    try {
      await this.erase(job);
      log.info('erasure_done');
    } catch (err) {
      if (err instanceof LostLeaseError) {
        log.info({ reason: err.message }, 'erasure_left');
        return;
      }
      if (this.stopping.signal.aborted) {
        // Another process may take it at once: every step done is recorded.
        log.info('erasure_interrupted');
        await this.store.failed(job, 'interrupted: the process stopped', 0).catch(() => undefined);
        return;
      }
      log.warn({ err }, 'erasure_attempt_failed');
      await this.store.failed(job, (err as Error).message, this.opts.pollMs).catch(() => undefined);
    }
  }

  private async erase(claimed: Claimed): Promise<void> {
    let job = claimed;
    if (!job.stepsDone.has('suppress')) {
      await this.clickhouse.suppress(job.viewerId, job.id);
      job = await this.store.step(job, 'suppress');
    }
    job = await this.deletePass(job, 1);
    const settledAt = job.suppressedAt!.getTime() + this.opts.settleMs;
    const wait = settledAt - Date.now();
    if (wait > 0) await sleep(wait, this.stopping.signal);
    if (this.stopping.signal.aborted) throw new Error('stopping');
    job = await this.deletePass(job, 2);
    if (!job.stepsDone.has('postgres')) job = await this.store.erasePostgres(job);
    await this.store.finish(job);
  }

  /** Counts, then deletes, each table's rows: each recorded, so a resumed pass redoes neither. */
  private async deletePass(claimed: Claimed, pass: number): Promise<Claimed> {
    let job = claimed;
    for (const t of this.clickhouse.tables) {
      const counted = `count:${pass}:${t.table}`;
      const deleted = `delete:${pass}:${t.table}`;
      if (job.stepsDone.has(deleted)) continue;
      if (!job.stepsDone.has(counted)) {
        const rows = await this.clickhouse.count(t, job.viewerId);
        job = await this.store.step(job, counted, { store: 'clickhouse', table: t.table, rows });
      }
      await this.clickhouse.delete(t, job.viewerId);
      job = await this.store.step(job, deleted);
      if (this.stopping.signal.aborted) throw new Error('stopping');
    }
    return job;
  }
}
