import { spawn } from 'node:child_process';
import { expect } from 'chai';
import { Registry } from 'prom-client';
import { createMetrics } from '../../lib/metrics/registry.js';
import { parseSchedstat, runQueueWaitCounter } from '../../lib/metrics/runqueue-wait.js';

async function valueOf(registry: Registry): Promise<number> {
  const m = await registry.getSingleMetric('nodejs_eventloop_runqueue_wait_seconds_total')!.get();
  return m.values[0]?.value ?? 0;
}

describe('event-loop run-queue wait metric', () => {
  it('parses a schedstat line and refuses anything else', () => {
    expect(parseSchedstat('123456 7890 42\n')).to.deep.equal({ runNs: 123456, waitNs: 7890 });
    expect(parseSchedstat('')).to.equal(null);
    expect(parseSchedstat('12')).to.equal(null);
    expect(parseSchedstat('a b c')).to.equal(null);
  });

  it("counts the kernel's wait in seconds at each scrape, never backwards", async () => {
    const registry = new Registry();
    let line = '10 1000000000 1';
    expect(runQueueWaitCounter(registry, () => line)).to.not.equal(null);
    expect(await valueOf(registry)).to.equal(1);
    line = '20 3500000000 2';
    expect(await valueOf(registry)).to.equal(3.5);
    line = '30 2000000000 3'; // a thread's count never falls; if a reading did, keep the total
    expect(await valueOf(registry)).to.equal(3.5);
  });

  it('exports nothing where the kernel has no schedstat', () => {
    const registry = new Registry();
    const missing = () => {
      throw new Error('ENOENT');
    };
    expect(runQueueWaitCounter(registry, missing)).to.equal(null);
    expect(runQueueWaitCounter(registry, () => 'garbage')).to.equal(null);
    expect(registry.getSingleMetric('nodejs_eventloop_runqueue_wait_seconds_total')).to.equal(undefined);
  });

  it('sees this process wait for a CPU while more threads than cores want one', async () => {
    const metrics = createMetrics();
    // The machines this runs on are Linux with schedstat (the metric is null elsewhere).
    expect(metrics.eventLoopRunQueueWait, 'schedstat for the main thread').to.not.equal(null);
    const before = await valueOf(metrics.registry);
    // One busy process per core, and this thread busy too: someone must queue.
    const cores = (await import('node:os')).availableParallelism();
    const burners = Array.from({ length: cores }, () =>
      spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end);']),
    );
    const end = Date.now() + 1000;
    while (Date.now() < end);
    await Promise.all(burners.map((b) => new Promise((r) => b.once('exit', r))));
    const waited = (await valueOf(metrics.registry)) - before;
    expect(waited).to.be.greaterThan(0.05);
  });
});
