import { expect } from 'chai';
import { AssignmentService } from '../../api/src/experiments/assignment-service.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';
import { memoryDatabase } from '../helpers/memory-devices.js';
import { storedExperiment } from '../helpers/stored-experiment.js';

const experiment = storedExperiment(1, [1, 1]);
const HOUR_MS = 3_600_000;

describe('AssignmentService (recording devices as seen, for retention)', () => {
  const setup = (retention: boolean) => {
    let clockMs = Date.UTC(2026, 5, 1, 12);
    const names: string[] = [];
    const recorded: string[] = [];
    const { pool } = memoryDatabase(
      names,
      // Known: first seen three days ago, never recorded since.
      { returning: { firstSeenUs: (clockMs - 72 * HOUR_MS) * 1000 } },
      () => clockMs * 1000,
    );
    const service = new AssignmentService(
      pool,
      new RunningExperiments({ running: async () => [experiment] }, Infinity),
      {
        cacheSize: 100,
        registerLingerMs: 0,
        deviceLoad: 'lookup-first',
        now: () => clockMs,
        ...(retention ? { seen: { record: (token: string) => recorded.push(token) } } : {}),
      },
    );
    const advance = (ms: number) => (clockMs += ms);
    return { service, names, recorded, advance };
  };

  it('records a device once a day at most, however often it is served, even from the cache', async () => {
    const { service, names, recorded, advance } = setup(true);
    await service.assign('returning');
    expect(recorded).to.deep.equal(['returning']);
    // (The device read, and its first value stored.)
    expect(names).to.deep.equal(['devices-read', 'assignments-insert']);
    const first = names.length;
    // Served again within the day: the cache answers, nothing read or recorded.
    await service.assign('returning');
    advance(23 * HOUR_MS);
    await service.assign('returning');
    expect(names.slice(first)).to.deep.equal([]);
    expect(recorded).to.deep.equal(['returning']);
    // A day after this process recorded it: read again (it may be gone), recorded again.
    advance(HOUR_MS);
    await service.assign('returning');
    expect(names.slice(first)).to.deep.equal(['devices-read']);
    expect(recorded).to.deep.equal(['returning', 'returning']);
  });

  it('records nothing for a device registered now, and nothing at all without retention', async () => {
    const fresh = setup(true);
    await fresh.service.assign('new-device');
    expect(fresh.recorded).to.deep.equal([]);

    const off = setup(false);
    await off.service.assign('returning');
    off.advance(48 * HOUR_MS);
    await off.service.assign('returning');
    expect(off.recorded).to.deep.equal([]);
    expect(off.names).to.deep.equal(['devices-read', 'assignments-insert']);
  });
});
