import { expect } from 'chai';
import type { Pool } from 'pg';
import { AssignmentService } from '../../api/src/experiments/assignment-service.js';
import { pickFor } from '../../api/src/experiments/device-registrar.js';
import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';

const experiment: StoredExperiment = {
  id: 1,
  key: 'button_color',
  description: '',
  seed: 'seed-1',
  status: 'running',
  createdAtUs: 0,
  stoppedAtUs: null,
  options: ['#FF0000', '#00FF00', '#0000FF'].map((value) => ({ value, weight: 1 })),
  include: [],
  exclude: [],
};

/** A database double with no devices: records the statements by name, registers whatever it is given. */
function emptyDatabase(statements: Array<{ name: string; tokens: string[] }>): Pool {
  return {
    query: async (q: { name: string; values: unknown[] }) => {
      const tokens = q.values[0] as string[];
      statements.push({ name: q.name, tokens });
      if (q.name === 'devices-read') return { rows: [] };
      if (q.name === 'devices-register') {
        return { rows: tokens.map((token) => ({ token, first_seen_us: '10', inserted: ['1'] })) };
      }
      throw new Error(`unexpected statement ${q.name}`);
    },
  } as unknown as Pool;
}

describe('AssignmentService (statement sharing)', () => {
  it('registers the concurrent first requests of many new devices in shared statements', async () => {
    const statements: Array<{ name: string; tokens: string[] }> = [];
    const running = new RunningExperiments({ running: async () => [experiment] }, 60_000);
    const service = new AssignmentService(emptyDatabase(statements), running, {
      cacheSize: 1000,
      registerLingerMs: 0,
    });
    const devices = Array.from({ length: 40 }, (_, i) => `device-${i}`);
    const answers = await Promise.all(devices.map((d) => service.assign(d)));
    answers.forEach((a, i) => {
      expect(a.map((x) => [x.experiment.key, x.optionIndex, x.isNew])).to.deep.equal([
        ['button_color', pickFor(experiment, devices[i]!), true],
      ]);
    });
    const registrations = statements.filter((s) => s.name === 'devices-register');
    // All 40 arrive in one turn: one statement each for the lookup and the registration.
    expect(registrations.map((s) => s.tokens.length)).to.deep.equal([40]);
    expect(statements.filter((s) => s.name === 'devices-read')).to.have.length(1);
    // Served again: from the cache, no statement.
    await Promise.all(devices.map((d) => service.assign(d)));
    expect(statements).to.have.length(2);
  });
});
