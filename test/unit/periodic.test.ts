import { expect } from 'chai';
import { periodicService } from '../../lib/runtime/periodic.js';
import { sleep } from '../../lib/retry.js';

/** Waits (up to 5 s: a busy host is slow to fire timers) until `ok`. */
async function until(ok: () => boolean): Promise<void> {
  for (let waited = 0; !ok(); waited += 5) {
    if (waited > 5000) throw new Error('timed out');
    await sleep(5);
  }
}

describe('periodicService', () => {
  it('runs at start and then every interval, one run at a time, and stop waits for the one in flight', async () => {
    let runs = 0;
    let running = 0;
    let overlapped = false;
    let release: (() => void) | undefined;
    const service = periodicService(
      'test',
      async () => {
        runs += 1;
        running += 1;
        if (running > 1) overlapped = true;
        if (runs === 2) await new Promise<void>((r) => (release = r));
        running -= 1;
      },
      10,
    );
    await service.start();
    expect(runs).to.equal(1);
    await until(() => runs === 2);
    await sleep(50);
    // The second run is held: the ticks meanwhile skipped it.
    expect(runs).to.equal(2);
    let stopped = false;
    const stopping = service.stop().then(() => (stopped = true));
    await sleep(20);
    expect(stopped).to.equal(false);
    release!();
    await stopping;
    await sleep(30);
    expect([runs, overlapped]).to.deep.equal([2, false]);
  });

  it('goes on after a run that failed', async () => {
    let runs = 0;
    const service = periodicService('test', () => Promise.reject(new Error(`run ${++runs}`)), 10);
    await service.start();
    await until(() => runs >= 2);
    await service.stop();
    expect(runs).to.be.at.least(2);
  });
});
