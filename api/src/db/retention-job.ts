import type { Service } from '../../../lib/lifecycle.js';
import type { Logger } from '../../../lib/log.js';

/** What one purge did: rows deleted, plus whatever else its log line should carry. */
export type PurgeResult = { deleted: number } & Record<string, unknown>;

export interface RetentionJobOptions {
  /** Service name, e.g. `device-retention`. */
  name: string;
  /** Deletes what is past retention; `stopping()` turns true when the process shuts down. */
  purge(stopping: () => boolean): Promise<PurgeResult>;
  log: Logger;
  /** Log events of a finished run and of a failed one (stable names for dashboards). */
  events: { done: string; failed: string };
  /** Rows deleted by a run (the retention_rows_deleted_total counter). */
  onDeleted?(rows: number): void;
  firstAfterMs?: number;
  everyMs?: number;
}

/**
 * Retention as a background job in the API process, off the request path: a minute after
 * start (not in the start-up burst), then daily, because retention counts in days. A failed
 * run is logged and tried again the next day; stop() waits for the statement in flight and
 * asks the purge to stop between its batches.
 */
export class RetentionJob implements Service {
  readonly name: string;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly opts: RetentionJobOptions) {
    this.name = opts.name;
  }

  start(): Promise<void> {
    this.stopping = false;
    this.schedule(this.opts.firstAfterMs ?? 60_000);
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearTimeout(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.running = this.run().finally(() => {
        this.running = undefined;
        if (this.timer !== undefined) this.schedule(this.opts.everyMs ?? 86_400_000);
      });
    }, ms);
    this.timer.unref();
  }

  private async run(): Promise<void> {
    const started = performance.now();
    try {
      const result = await this.opts.purge(() => this.stopping);
      this.opts.onDeleted?.(result.deleted);
      this.opts.log.info(
        { ...result, duration_ms: Math.round(performance.now() - started) },
        this.opts.events.done,
      );
    } catch (err) {
      this.opts.log.warn({ err }, this.opts.events.failed);
    }
  }
}
