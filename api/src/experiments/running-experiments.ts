import type { ExperimentStore, StoredExperiment } from './experiment-store.js';

/**
 * The running experiments, reused for `ttlMs`: every device request needs them, and they
 * change only when an admin creates or stops one. One refresh at a time (concurrent
 * callers share it), so a burst of requests costs one query.
 */
export class RunningExperiments {
  private cached: StoredExperiment[] | null = null;
  private loadedAt = 0;
  private inflight: Promise<StoredExperiment[]> | null = null;

  constructor(
    private readonly store: Pick<ExperimentStore, 'running'>,
    private readonly ttlMs: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(): Promise<StoredExperiment[]> {
    if (this.cached !== null && this.now() - this.loadedAt < this.ttlMs) return Promise.resolve(this.cached);
    this.inflight ??= this.store
      .running()
      .then((list) => {
        this.cached = list;
        this.loadedAt = this.now();
        return list;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  /** After an admin change in this process: the next request sees it at once. */
  invalidate(): void {
    this.cached = null;
  }
}
