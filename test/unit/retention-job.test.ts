import { expect } from 'chai';
import { RetentionJob, type PurgeResult } from '../../api/src/db/retention-job.js';
import { createLogger } from '../../lib/log.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));
/** Polls, so a loaded machine's late timers make a test slower, not wrong. */
async function until(done: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !done(); i++) await tick(5);
  expect(done()).to.equal(true);
}

describe('RetentionJob (the schedule shared by device and resume retention)', () => {
  const setup = (purge: (stopping: () => boolean) => Promise<PurgeResult>) => {
    const lines: Record<string, unknown>[] = [];
    const counted: number[] = [];
    const job = new RetentionJob({
      name: 'test-retention',
      purge,
      log: createLogger(
        { level: 'info', pretty: false, name: 'test' },
        { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
      ),
      events: { done: 'rows_purged', failed: 'rows_purge_failed' },
      onDeleted: (n) => counted.push(n),
      firstAfterMs: 5,
      everyMs: 20,
    });
    return { job, lines, counted };
  };

  it('runs after the first delay, then every period: counts the rows and logs each run with its result', async () => {
    let runs = 0;
    const { job, lines, counted } = setup(() => Promise.resolve({ deleted: ++runs * 10, table: 't' }));
    await job.start();
    await until(() => runs >= 2);
    await job.stop();
    expect(counted).to.deep.equal(Array.from({ length: runs }, (_, i) => (i + 1) * 10));
    const done = lines.filter((l) => l.msg === 'rows_purged');
    expect(done).to.have.length(runs);
    expect(done[0]).to.include({ deleted: 10, table: 't' });
    expect(done[0]!.duration_ms).to.be.a('number');
  });

  it('logs a failed run, counts nothing, and tries again the next period', async () => {
    let runs = 0;
    const { job, lines, counted } = setup(() =>
      ++runs === 1 ? Promise.reject(new Error('database away')) : Promise.resolve({ deleted: 1 }),
    );
    await job.start();
    await until(() => runs >= 2);
    await job.stop();
    expect(lines.find((l) => l.msg === 'rows_purge_failed')).to.have.nested.property(
      'err.message',
      'database away',
    );
    expect(runs).to.be.greaterThan(1);
    expect(counted).to.deep.equal(Array.from({ length: runs - 1 }, () => 1));
  });

  it('stop() tells a running purge to stop and waits for it, and nothing runs after', async () => {
    let seen: boolean[] = [];
    let runs = 0;
    const { job } = setup(async (stopping) => {
      runs += 1;
      for (let i = 0; i < 50 && !stopping(); i++) {
        seen.push(stopping());
        await tick(2);
      }
      seen.push(stopping());
      return { deleted: 0 };
    });
    await job.start();
    await until(() => seen.length > 0);
    await job.stop();
    expect(seen[seen.length - 1]).to.equal(true);
    const after = runs;
    seen = [];
    await tick(50);
    expect(runs).to.equal(after);
  });
});
