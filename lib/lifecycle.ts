import { isRetriable } from './errors.js';
import type { Logger } from './log.js';
import { backoffDelay, sleep } from './retry.js';

/** Anything long-lived: started in order, stopped in reverse order. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts one service, retrying retriable failures (a broker that is down or still electing
 * leaders, a ClickHouse server restarting) with capped backoff until startupTimeoutMs:
 * a process started during an outage waits for it instead of exiting. (The fault suite
 * caught an ETL restarted while a broker was dead exiting for good.)
 */
export async function startWithRetry(
  service: Service,
  log: Logger,
  startupTimeoutMs: number,
  isStopping: () => boolean = () => false,
): Promise<void> {
  const deadline = Date.now() + startupTimeoutMs;
  for (let attempt = 0; ; attempt++) {
    try {
      await service.start();
      return;
    } catch (err) {
      if (!isRetriable(err) || Date.now() >= deadline || isStopping()) throw err;
      const delay = backoffDelay(attempt, { initialMs: 250, maxMs: 5000 });
      log.warn({ err, service: service.name, attempt, retry_in_ms: delay }, 'service_start_retry');
      await sleep(delay);
    }
  }
}

/** A service whose stop() had not settled within its bound. */
export class StopTimeoutError extends Error {
  constructor(
    readonly services: string[],
    readonly boundMs: number,
  ) {
    super(`did not stop within ${boundMs} ms: ${services.join(', ')}`);
    this.name = 'StopTimeoutError';
  }
}

/**
 * Stops services in the order given, each bounded by `boundMs`: one that hangs is left
 * behind and the rest still stop. Then throws StopTimeoutError naming every service that
 * hung (a failed stop is thrown as it is, after the others stopped). For owners that
 * cannot exit the process on a hang, as runServices does: the test harness, where an
 * unbounded stop showed up only as a suite's teardown timeout, with no name.
 */
export async function stopEach(services: Service[], boundMs: number): Promise<void> {
  const hung: string[] = [];
  let failed: Error | undefined;
  for (const s of services) {
    let timer: NodeJS.Timeout | undefined;
    const bound = new Promise<'hung'>((resolve) => {
      timer = setTimeout(() => resolve('hung'), boundMs);
    });
    try {
      if ((await Promise.race([s.stop(), bound])) === 'hung') hung.push(s.name);
    } catch (err) {
      failed ??= err instanceof Error ? err : new Error(String(err));
    } finally {
      clearTimeout(timer);
    }
  }
  if (hung.length > 0) throw new StopTimeoutError(hung, boundMs);
  if (failed !== undefined) throw failed;
}

/**
 * Starts services in order (retrying transient failures); on SIGTERM/SIGINT stops them in
 * reverse (stop accepting HTTP, finish the batch, flush the producer, commit, close
 * clients). A second signal or the timeout forces exit. Resolves when everything stopped.
 */
export async function runServices(
  services: Service[],
  log: Logger,
  shutdownTimeoutMs: number,
  startupTimeoutMs = 120_000,
): Promise<void> {
  const started: Service[] = [];
  let stopping: Promise<void> | undefined;
  let markStopped: () => void = () => {};
  const stopped = new Promise<void>((resolve) => (markStopped = resolve));

  const stopAll = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.info({ reason }, 'shutdown_start');
      const timer = setTimeout(() => {
        log.error({ timeout_ms: shutdownTimeoutMs }, 'shutdown_timeout');
        process.exit(1);
      }, shutdownTimeoutMs);
      timer.unref();
      for (const s of [...started].reverse()) {
        try {
          await s.stop();
          log.info({ service: s.name }, 'service_stopped');
        } catch (err) {
          log.error({ err, service: s.name }, 'service_stop_failed');
        }
      }
      clearTimeout(timer);
      log.info('shutdown_done');
      markStopped();
    })();
    return stopping;
  };

  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping !== undefined) {
      log.warn({ signal }, 'shutdown_forced');
      process.exit(1);
    }
    void stopAll(signal);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);

  try {
    for (const s of services) {
      await startWithRetry(s, log, startupTimeoutMs, () => stopping !== undefined);
      if (stopping !== undefined) {
        // A signal arrived while this one started: stopAll did not know it yet.
        await s.stop().catch((err: unknown) => log.error({ err, service: s.name }, 'service_stop_failed'));
        break;
      }
      started.push(s);
      log.info({ service: s.name }, 'service_started');
    }
  } catch (err) {
    log.fatal({ err }, 'startup_failed');
    await stopAll('startup_failed');
    throw err;
  }
  await stopped;
}
