import type { Service } from '../lifecycle.js';

/**
 * A service that runs `run` at start (not awaited: nothing waits on it to serve) and then
 * every `everyMs`, one at a time: a tick that finds a run in flight skips it. The timer does
 * not hold the process open; stop waits for a run in flight. `run` handles its own errors.
 */
export function periodicService(name: string, run: () => Promise<void>, everyMs: number): Service {
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  const tick = () => {
    if (inFlight === undefined) {
      inFlight = run()
        .catch(() => undefined)
        .finally(() => (inFlight = undefined));
    }
  };
  return {
    name,
    start() {
      tick();
      timer = setInterval(tick, everyMs);
      timer.unref();
      return Promise.resolve();
    },
    async stop() {
      clearInterval(timer);
      await inFlight;
    },
  };
}
