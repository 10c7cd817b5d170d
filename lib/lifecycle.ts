import type { Logger } from './log.js';

/** Anything long-lived: started in order, stopped in reverse order. */
export interface Service {
  readonly name: string;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts services in order; on SIGTERM/SIGINT stops them in reverse (stop accepting HTTP,
 * finish the batch, flush the producer, commit, close clients). A second signal or the
 * timeout forces exit. Resolves when everything has stopped.
 */
export async function runServices(
  services: Service[],
  log: Logger,
  shutdownTimeoutMs: number,
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
      await s.start();
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
