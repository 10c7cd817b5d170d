import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { expect } from 'chai';
import Koa from 'koa';
import type { Pool } from 'pg';
import { AssignmentService } from '../../api/src/experiments/assignment-service.js';
import { pickFor } from '../../api/src/experiments/device-loader.js';
import { deviceExperimentRoutes } from '../../api/src/experiments/device.routes.js';
import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import type { ExposureEmitter } from '../../api/src/experiments/exposures.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';
import { routerOf } from '../../api/src/http/route.js';
import { createMetrics } from '../../lib/metrics/registry.js';
import { storedExperiment } from '../helpers/stored-experiment.js';

/**
 * The insert race: another replica stores a device's value between this request's read and
 * its insert. The request must serve the stored value (not its own hash pick) and must not
 * count the assignment as its own. Each double below is a store that reports the lost race
 * the way PostgreSQL does: the insert returns no row, the re-read returns the rival's value.
 */

const open: StoredExperiment = {
  ...storedExperiment(1, [1, 1, 1]),
  key: 'button_color',
  seed: 'seed-race-open',
};
const targeted: StoredExperiment = {
  ...open,
  id: 2,
  key: 'premium_price',
  seed: 'seed-race-targeted',
  options: [5, 7, 9].map((value) => ({ value, weight: 1 })),
  include: ['PREMIUM'],
};

/** An option the rival stored: never this device's own hash pick, so serving the pick shows. */
const rivalPick = (e: StoredExperiment, token: string) => (pickFor(e, token) + 1) % e.options.length;

type Row = Record<string, unknown>;

/**
 * A store where, for each device in `rival`, another replica's first request commits its
 * values while this one is between its read and its insert:
 * - devices-read: a device in `known` is found with no values (then the insert loses);
 *   any other device is not found.
 * - devices-load: an unknown device was registered concurrently; the statement locks and
 *   returns that device row (registered), but its assignment inserts conflict, so it
 *   returns no value (one row with experiment_id null).
 * - assignments-insert: conflicts for every experiment the rival holds (no row returned).
 * - assignments-reread: the rival's values.
 */
function racingStore(
  rival: Map<string, Map<number, number>>,
  known: Set<string> = new Set(),
): { pool: Pool; names: string[] } {
  const names: string[] = [];
  const device = (token: string, registered?: boolean): Row => ({
    token,
    first_seen_us: '10',
    last_seen_us: null,
    experiment_id: null,
    option_position: null,
    ...(registered === undefined ? {} : { registered }),
  });
  const pool = {
    query: async (q: { name: string; values: unknown[] }) => {
      names.push(q.name);
      if (q.name === 'devices-read') {
        const tokens = q.values[0] as string[];
        return { rows: tokens.filter((t) => known.has(t)).map((t) => device(t)) };
      }
      if (q.name === 'devices-load') {
        const tokens = q.values[0] as string[];
        return { rows: tokens.map((t) => device(t, !known.has(t))) };
      }
      if (q.name === 'assignments-insert') {
        const [token, ids] = q.values as [string, number[]];
        const held = rival.get(token) ?? new Map<number, number>();
        return { rows: ids.filter((id) => !held.has(id)).map((id) => ({ experiment_id: String(id) })) };
      }
      if (q.name === 'assignments-reread') {
        const [token, ids] = q.values as [string, number[]];
        const held = rival.get(token) ?? new Map<number, number>();
        return {
          rows: ids
            .filter((id) => held.has(id))
            .map((id) => ({ experiment_id: String(id), option_position: held.get(id) })),
        };
      }
      throw new Error(`unexpected statement ${q.name}`);
    },
  } as unknown as Pool;
  return { pool, names };
}

function serviceOn(
  pool: Pool,
  experiments: StoredExperiment[],
  deviceLoad?: 'lookup-first' | 'one-statement',
) {
  return new AssignmentService(
    pool,
    new RunningExperiments({ running: async () => experiments }, 60_000),
    { cacheSize: 100, registerLingerMs: 0, deviceLoad },
    async (viewer) => new Set(viewer === 'member' ? ['PREMIUM'] : []),
  );
}

const served = (assignments: Awaited<ReturnType<AssignmentService['assign']>>) =>
  assignments.map((a) => ({
    key: a.experiment.key,
    optionIndex: a.optionIndex,
    value: a.value,
    isNew: a.isNew,
  }));

/** GET /api/v1/experiments for `token` on the device endpoint over `pool`, without a viewer. */
async function getExperiments(pool: Pool, token: string) {
  const metrics = createMetrics();
  const emitted: Array<Record<string, unknown>> = [];
  const app = new Koa();
  app.use(
    routerOf(
      deviceExperimentRoutes({
        verify: () => Promise.reject(new Error('no viewer token is sent')),
        assignments: serviceOn(pool, [open]),
        exposures: {
          emit: (m: Array<Record<string, unknown>>) => emitted.push(...m),
        } as unknown as ExposureEmitter,
        metrics,
      }),
      { bodyLimitBytes: 262144 },
    ).routes(),
  );
  const handle = app.callback();
  const server: Server = createServer((req, res) => void handle(req, res));
  // Port 0 bound here and used as bound: no other process can take it in between.
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const { port } = server.address() as AddressInfo;
    const res = await fetch(`http://127.0.0.1:${port}/api/v1/experiments`, {
      headers: { 'Device-Token': token },
    });
    const counted = (await metrics.experimentAssignments.get()).values.map((v) => [
      v.labels.experiment,
      v.value,
    ]);
    return { status: res.status, body: await res.json(), counted, emitted };
  } finally {
    await new Promise((resolve) => server.close(resolve));
  }
}

describe('AssignmentService (a lost insert race serves the stored value, never counted as new)', () => {
  it('a new device registered concurrently by another replica: its values are served', async () => {
    for (const mode of ['lookup-first', 'one-statement'] as const) {
      const token = `device-new-${mode}`;
      const stored = rivalPick(open, token);
      const { pool, names } = racingStore(new Map([[token, new Map([[open.id, stored]])]]));
      const service = serviceOn(pool, [open], mode);
      expect(served(await service.assign(token)), mode).to.deep.equal([
        { key: 'button_color', optionIndex: stored, value: open.options[stored]!.value, isNew: false },
      ]);
      // It did try its own pick, lost, and re-read: the race was really run.
      expect(names, mode).to.include.members(['assignments-insert', 'assignments-reread']);
      // The re-read value is what the device keeps (cached), not the pick.
      expect(served(await service.assign(token)), mode).to.deep.equal([
        { key: 'button_color', optionIndex: stored, value: open.options[stored]!.value, isNew: false },
      ]);
    }
  });

  it('a known device entering an experiment another replica entered it in first', async () => {
    const token = 'device-known';
    const stored = rivalPick(open, token);
    const { pool, names } = racingStore(new Map([[token, new Map([[open.id, stored]])]]), new Set([token]));
    const service = serviceOn(pool, [open], 'lookup-first');
    expect(served(await service.assign(token))).to.deep.equal([
      { key: 'button_color', optionIndex: stored, value: open.options[stored]!.value, isNew: false },
    ]);
    expect(names).to.deep.equal(['devices-read', 'assignments-insert', 'assignments-reread']);
  });

  it("a member entering a targeted experiment through another replica first: that replica's value", async () => {
    const token = 'device-member';
    const stored = rivalPick(targeted, token);
    // The open value is this request's own (its insert wins); the targeted one was the rival's.
    const { pool } = racingStore(new Map([[token, new Map([[targeted.id, stored]])]]), new Set([token]));
    const service = serviceOn(pool, [open, targeted], 'lookup-first');
    expect(served(await service.assign(token, 'member'))).to.deep.equal([
      {
        key: 'button_color',
        optionIndex: pickFor(open, token),
        value: open.options[pickFor(open, token)]!.value,
        isNew: true,
      },
      { key: 'premium_price', optionIndex: stored, value: targeted.options[stored]!.value, isNew: false },
    ]);
  });

  it('the endpoint answers the stored value and does not count the assignment', async () => {
    const token = 'device-endpoint';
    const stored = rivalPick(open, token);
    const { pool } = racingStore(new Map([[token, new Map([[open.id, stored]])]]));
    const res = await getExperiments(pool, token);
    expect(res.status).to.equal(200);
    expect(res.body).to.deep.equal([{ button_color: open.options[stored]!.value }]);
    expect(res.counted).to.deep.equal([]);
    // The exposure records the value served, the stored one.
    expect(res.emitted).to.have.length(1);
    expect(res.emitted[0]).to.include({
      option_index: stored,
      value: JSON.stringify(open.options[stored]!.value),
    });
  });

  it('the endpoint counts the assignment when this request stored it (the counter can move)', async () => {
    const token = 'device-own-insert';
    const res = await getExperiments(racingStore(new Map()).pool, token);
    expect(res.body).to.deep.equal([{ button_color: open.options[pickFor(open, token)]!.value }]);
    expect(res.counted).to.deep.equal([['button_color', 1]]);
  });
});
