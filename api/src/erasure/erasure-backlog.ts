import type { Logger } from '../../../lib/log.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import type { ErasureStore } from './erasure-store.js';

/**
 * Reads the erasure jobs not done into `erasure_jobs_open` and `erasure_oldest_open_seconds`
 * in every API process, whether or not it runs jobs: a job nobody runs (ERASURE_JOBS_ENABLED
 * false on every replica), or one that fails on every attempt, shows as an age that keeps
 * growing, and ErasureOverdue fires on it. A read that fails keeps the last figures.
 */
export class ErasureBacklog {
  constructor(
    private readonly store: Pick<ErasureStore, 'backlog'>,
    private readonly gauges: Metrics['erasureBacklog'],
    private readonly log: Logger,
  ) {}

  async read(): Promise<void> {
    try {
      const { open, oldestRequestedAt } = await this.store.backlog();
      this.gauges.set(open, oldestRequestedAt?.getTime() ?? null);
    } catch (err) {
      this.log.warn({ err }, 'erasure_backlog_read_failed');
    }
  }
}
