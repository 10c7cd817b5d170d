import { expect } from 'chai';
import type { Pool } from 'pg';
import { AssignmentService } from '../../api/src/experiments/assignment-service.js';
import { pickFor } from '../../api/src/experiments/device-loader.js';
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

/**
 * A database double with no devices: records the statements by name; read-or-register
 * registers every token it is given, with every candidate assignment.
 */
function emptyDatabase(statements: Array<{ name: string; tokens: string[] }>): Pool {
  return {
    query: async (q: { name: string; values: unknown[] }) => {
      const tokens = q.values[0] as string[];
      statements.push({ name: q.name, tokens });
      if (q.name === 'devices-read') return { rows: [] };
      if (q.name === 'devices-load') {
        const [, aTokens, aExperiments, aPositions] = q.values as [string[], string[], number[], number[]];
        return {
          rows: aTokens.map((token, i) => ({
            token,
            first_seen_us: '10',
            experiment_id: String(aExperiments[i]),
            option_position: aPositions[i],
            registered: true,
          })),
        };
      }
      throw new Error(`unexpected statement ${q.name}`);
    },
  } as unknown as Pool;
}

const devices = (n: number, prefix: string) => Array.from({ length: n }, (_, i) => `${prefix}-${i}`);

/** A service over an empty database double, the statements it sends recorded in `statements`. */
function serviceOn(
  statements: Array<{ name: string; tokens: string[] }>,
  deviceLoad?: 'lookup-first',
): AssignmentService {
  const running = new RunningExperiments({ running: async () => [experiment] }, 60_000);
  return new AssignmentService(emptyDatabase(statements), running, {
    cacheSize: 1000,
    registerLingerMs: 0,
    deviceLoad,
  });
}

describe('AssignmentService (statement sharing)', () => {
  it('registers the concurrent first requests of many new devices in shared statements', async () => {
    const statements: Array<{ name: string; tokens: string[] }> = [];
    const service = serviceOn(statements);
    const fresh = devices(40, 'device');
    const answers = await Promise.all(fresh.map((d) => service.assign(d)));
    answers.forEach((a, i) => {
      expect(a.map((x) => [x.experiment.key, x.optionIndex, x.isNew])).to.deep.equal([
        ['button_color', pickFor(experiment, fresh[i]!), true],
      ]);
    });
    // All 40 arrive in one turn: one lookup, then one read-or-register for the 40 it did not find.
    expect(statements.map((s) => [s.name, s.tokens.length])).to.deep.equal([
      ['devices-read', 40],
      ['devices-load', 40],
    ]);
    // Served again: from the cache, no statement.
    await Promise.all(fresh.map((d) => service.assign(d)));
    expect(statements).to.have.length(2);
  });

  it('goes straight to read-or-register once most devices it loads are new (adaptive)', async () => {
    const statements: Array<{ name: string; tokens: string[] }> = [];
    const service = serviceOn(statements);
    // One at a time, so each load is its own statement: ~177 new devices move the share past 0.75.
    for (const d of devices(200, 'early')) await service.assign(d);
    const before = statements.length;
    const late = await service.assign('late-device');
    expect(late.map((x) => x.isNew)).to.deep.equal([true]);
    expect(statements.slice(before).map((s) => s.name)).to.deep.equal(['devices-load']);
    // Forced lookup first: the same traffic keeps reading first.
    const forced: Array<{ name: string; tokens: string[] }> = [];
    const lookupFirst = serviceOn(forced, 'lookup-first');
    for (const d of devices(200, 'early')) await lookupFirst.assign(d);
    expect(forced.filter((s) => s.name === 'devices-read')).to.have.length(200);
  });
});
