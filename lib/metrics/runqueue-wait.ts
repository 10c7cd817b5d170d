import { readFileSync } from 'node:fs';
import { Counter, type Registry } from 'prom-client';

/** A thread's scheduler counters (Linux /proc/<pid>/task/<tid>/schedstat), nanoseconds. */
export interface Schedstat {
  runNs: number;
  waitNs: number;
}

/** `"<run ns> <run-queue wait ns> <timeslices>"`; null for anything else. */
export function parseSchedstat(text: string): Schedstat | null {
  const [run, wait] = text.trim().split(' ');
  const runNs = Number(run);
  const waitNs = Number(wait);
  if (run === undefined || wait === undefined || !Number.isFinite(runNs) || !Number.isFinite(waitNs)) {
    return null;
  }
  return { runNs, waitNs };
}

/** The event-loop thread's schedstat: on Linux the main thread's id is the process id. */
function readMainThread(): string {
  return readFileSync(`/proc/self/task/${process.pid}/schedstat`, 'latin1');
}

/**
 * nodejs_eventloop_runqueue_wait_seconds_total: time the event-loop thread was ready to run
 * but waited for a CPU. Every request waits behind it, and no in-process measure sees it:
 * the loop-delay histogram mixes it with the loop's own work, and the process CPU counters
 * count only time on a CPU. It is what a starved replica looks like (a busy neighbour, the
 * host, a container CPU limit, or the process's own GC threads taking the cores).
 *
 * Read at each scrape. Null (no metric) where the kernel has no schedstat for the thread
 * (not Linux, or schedstats compiled out): a metric that always reads zero would mislead.
 */
export function runQueueWaitCounter(registry: Registry, read: () => string = readMainThread): Counter | null {
  const readWaitNs = (): number | null => {
    try {
      return parseSchedstat(read())?.waitNs ?? null;
    } catch {
      return null;
    }
  };
  if (readWaitNs() === null) return null;
  let counted = 0;
  return new Counter({
    name: 'nodejs_eventloop_runqueue_wait_seconds_total',
    help: 'Time the event-loop thread was runnable but waited for a CPU (Linux schedstat): CPU starvation',
    registers: [registry],
    collect() {
      const waitNs = readWaitNs();
      // Counted since the thread started; the kernel's count never goes back.
      if (waitNs !== null && waitNs > counted) {
        this.inc((waitNs - counted) / 1e9);
        counted = waitNs;
      }
    },
  });
}
