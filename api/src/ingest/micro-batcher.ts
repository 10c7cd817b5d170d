/**
 * Groups items from concurrent requests into few, bounded sends, and tells each caller
 * when *its* items were sent. Rules:
 * - a batch goes out when it holds maxItems, or lingerMs after its first item;
 * - at most maxInFlight sends run at once; while they run, new items accumulate, so batch
 *   size grows with load instead of the number of requests (Nagle-style). When a send
 *   ends, what queued meanwhile still waits out lingerMs from its first item: with a long
 *   linger (exposures) sending it at once made one small produce request per broker
 *   round trip instead of one per linger;
 * - one add() is never split across sends, so a request's events succeed or fail together;
 * - an add() that timed out before its batch left is dropped, never sent after its caller
 *   was told it failed.
 */
export class BatchTimeoutError extends Error {
  constructor(readonly timeoutMs: number) {
    super(`not acknowledged within ${timeoutMs} ms`);
    this.name = 'BatchTimeoutError';
  }
}

export interface MicroBatcherOptions {
  lingerMs: number;
  maxItems: number;
  maxInFlight: number;
}

interface Unit<T> {
  items: T[];
  /** performance.now() when it was added: the linger runs from the oldest queued unit. */
  addedAt: number;
  settled: boolean;
  timer: NodeJS.Timeout | undefined;
  resolve(): void;
  reject(err: unknown): void;
}

export class MicroBatcher<T> {
  private pending: Unit<T>[] = [];
  private pendingItems = 0;
  private inFlight = new Set<Promise<void>>();
  private lingerTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly opts: MicroBatcherOptions,
    private readonly send: (items: T[]) => Promise<void>,
  ) {}

  /** Resolves once `items` were sent; rejects with the send error or BatchTimeoutError. */
  add(items: T[], timeoutMs: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      const unit: Unit<T> = {
        items,
        addedAt: performance.now(),
        settled: false,
        timer: undefined,
        resolve,
        reject,
      };
      unit.timer = setTimeout(() => this.settle(unit, new BatchTimeoutError(timeoutMs)), timeoutMs);
      this.pending.push(unit);
      this.pendingItems += items.length;
      this.schedule();
    });
  }

  get queuedItems(): number {
    return this.pendingItems;
  }

  /** Sends everything queued and waits for every send in flight. */
  async drain(): Promise<void> {
    while (this.pending.length > 0 || this.inFlight.size > 0) {
      this.flush();
      await Promise.allSettled([...this.inFlight]);
    }
  }

  private schedule(): void {
    const oldest = this.pending[0];
    if (oldest === undefined) return;
    const waitMs = this.opts.lingerMs - (performance.now() - oldest.addedAt);
    if (this.pendingItems >= this.opts.maxItems || waitMs <= 0) {
      this.flush();
    } else {
      this.lingerTimer ??= setTimeout(() => this.flush(), waitMs);
    }
  }

  private flush(): void {
    if (this.lingerTimer !== undefined) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
    }
    while (this.pending.length > 0 && this.inFlight.size < this.opts.maxInFlight) {
      const units = this.takeBatch();
      if (units.length === 0) continue;
      const items = units.flatMap((u) => u.items);
      const sending: Promise<void> = this.send(items).then(
        () => units.forEach((u) => this.settle(u)),
        (err: unknown) => units.forEach((u) => this.settle(u, err)),
      );
      this.inFlight.add(sending);
      void sending.finally(() => {
        this.inFlight.delete(sending);
        // Items that queued while this send ran go now if their linger is over, else when it is.
        this.schedule();
      });
    }
  }

  private takeBatch(): Unit<T>[] {
    const batch: Unit<T>[] = [];
    let count = 0;
    while (this.pending.length > 0) {
      const unit = this.pending[0]!;
      if (batch.length > 0 && count + unit.items.length > this.opts.maxItems) break;
      this.pending.shift();
      this.pendingItems -= unit.items.length;
      if (unit.settled) continue; // timed out while queued: its caller already got an error
      batch.push(unit);
      count += unit.items.length;
    }
    return batch;
  }

  private settle(unit: Unit<T>, err?: unknown): void {
    if (unit.settled) return;
    unit.settled = true;
    clearTimeout(unit.timer);
    if (err === undefined) unit.resolve();
    else unit.reject(err);
  }
}
