import { expect } from 'chai';
import type { Pool, QueryConfig } from 'pg';
import { AssignmentService, deviceQueueFull } from '../../api/src/experiments/assignment-service.js';
import { pickFor } from '../../api/src/experiments/device-loader.js';
import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';
import { UnavailableError } from '../../lib/errors.js';
import { storedExperiment } from '../helpers/stored-experiment.js';

// Cases the mutation run (npm run test:mutation) showed the assignment tests leave open.

function experiment(id: number, createdAtUs: number, over: Partial<StoredExperiment> = {}): StoredExperiment {
  return { ...storedExperiment(id, [1, 1, 1, 1]), createdAtUs, ...over };
}

interface Device {
  firstSeenUs: number;
  values: Map<number, number>;
}

/**
 * Devices and assignments in memory, answering the service's statements as PostgreSQL
 * would: a device is registered at `nowUs` with the candidate values of the experiments
 * created at or before then; an assignment insert keeps a value already stored.
 */
class DeviceDb {
  readonly devices = new Map<string, Device>();
  readonly statements: string[] = [];
  nowUs = 1_000;

  readonly pool = {
    query: async (q: { name: string; values: unknown[] }) => {
      this.statements.push(q.name);
      const rowsOf = (token: string, d: Device, registered?: boolean): Record<string, unknown>[] => {
        const base = { token, first_seen_us: String(d.firstSeenUs), last_seen_us: null };
        const extra = registered === undefined ? {} : { registered };
        if (d.values.size === 0) return [{ ...base, ...extra, experiment_id: null, option_position: null }];
        return [...d.values].map(([id, pos]) => ({
          ...base,
          ...extra,
          experiment_id: String(id),
          option_position: pos,
        }));
      };
      if (q.name === 'devices-read') {
        const tokens = q.values[0] as string[];
        return { rows: tokens.flatMap((t) => (this.devices.has(t) ? rowsOf(t, this.devices.get(t)!) : [])) };
      }
      if (q.name === 'devices-load') {
        const [tokens, cToken, cExp, cPos, cCreated] = q.values as [
          string[],
          string[],
          number[],
          number[],
          number[],
        ];
        return {
          rows: tokens.flatMap((t) => {
            const known = this.devices.get(t);
            if (known !== undefined) return rowsOf(t, known, false);
            const d: Device = { firstSeenUs: this.nowUs, values: new Map() };
            cToken.forEach((ct, i) => {
              if (ct === t && cCreated[i]! <= d.firstSeenUs) d.values.set(cExp[i]!, cPos[i]!);
            });
            this.devices.set(t, d);
            return rowsOf(t, d, true);
          }),
        };
      }
      if (q.name === 'assignments-insert') {
        const [token, ids, picks] = q.values as [string, number[], number[]];
        const d = this.devices.get(token)!;
        const inserted = ids.filter((id, i) => {
          if (d.values.has(id)) return false;
          d.values.set(id, picks[i]!);
          return true;
        });
        return { rows: inserted.map((id) => ({ experiment_id: String(id) })) };
      }
      if (q.name === 'assignments-reread') {
        const [token, ids] = q.values as [string, number[]];
        const d = this.devices.get(token)!;
        return {
          rows: ids
            .filter((id) => d.values.has(id))
            .map((id) => ({ experiment_id: String(id), option_position: d.values.get(id) })),
        };
      }
      throw new Error(`unexpected statement ${q.name}`);
    },
  } as unknown as Pool;
}

function service(
  db: DeviceDb,
  list: { current: StoredExperiment[] },
  segments: (viewer: string) => Promise<ReadonlySet<string>> = () => Promise.resolve(new Set()),
) {
  const running = new RunningExperiments({ running: async () => list.current }, 0);
  return new AssignmentService(
    db.pool,
    running,
    { cacheSize: 100, registerLingerMs: 0, deviceLoad: 'lookup-first' },
    segments,
  );
}

const summary = (out: Awaited<ReturnType<AssignmentService['assign']>>) =>
  out.map((a) => [a.experiment.id, a.optionIndex, a.value, a.isNew]);

describe('AssignmentService (mutation-testing cases)', () => {
  it('answers a full queue with a retriable 503 saying the database is behind', () => {
    const err = deviceQueueFull();
    expect(err).to.be.instanceOf(UnavailableError);
    expect(err.status).to.equal(503);
    expect(err.code).to.equal('overloaded');
    expect(err.retryAfterSec).to.equal(1);
    expect(err.message).to.equal('too many devices waiting for the database, retry later');
  });

  it('serves a device only the experiments created at or before it was first seen, in list order', async () => {
    const db = new DeviceDb();
    const older = experiment(1, 500);
    const sameMoment = experiment(2, 1_000);
    const newer = experiment(3, 1_001);
    const svc = service(db, { current: [sameMoment, newer, older] });
    const out = await svc.assign('device-a');
    expect(summary(out)).to.deep.equal([
      [2, pickFor(sameMoment, 'device-a'), sameMoment.options[pickFor(sameMoment, 'device-a')]!.value, true],
      [1, pickFor(older, 'device-a'), older.options[pickFor(older, 'device-a')]!.value, true],
    ]);
    expect([...db.devices.get('device-a')!.values.keys()].sort()).to.deep.equal([1, 2]);
  });

  it('serves a cached device from memory, its values no longer new', async () => {
    const db = new DeviceDb();
    const e = experiment(1, 0);
    const svc = service(db, { current: [e] });
    const first = await svc.assign('device-b');
    const statements = db.statements.length;
    const again = await svc.assign('device-b');
    expect(db.statements.length, 'no statement for a cached device').to.equal(statements);
    expect(summary(again)).to.deep.equal(summary(first).map(([id, i, v]) => [id, i, v, false]));
  });

  it('stores the value of an experiment a cached device became eligible for late, and only that one is new', async () => {
    const db = new DeviceDb();
    const a = experiment(1, 0);
    const late = experiment(2, 10); // created before the device, visible to this process only now
    const list = { current: [a] };
    const svc = service(db, list);
    await svc.assign('device-c');
    list.current = [a, late];
    const out = await svc.assign('device-c');
    expect(summary(out)).to.deep.equal([
      [1, pickFor(a, 'device-c'), a.options[pickFor(a, 'device-c')]!.value, false],
      [2, pickFor(late, 'device-c'), late.options[pickFor(late, 'device-c')]!.value, true],
    ]);
    expect(db.devices.get('device-c')!.values.get(2)).to.equal(pickFor(late, 'device-c'));
    const statements = db.statements.length;
    await svc.assign('device-c');
    expect(db.statements.length, 'covered again: back to memory').to.equal(statements);
  });

  it('serves the stored value, not its own pick, for a device another process stored first', async () => {
    const db = new DeviceDb();
    const e = experiment(1, 0);
    const theirs = (pickFor(e, 'device-d') + 1) % e.options.length;
    db.devices.set('device-d', { firstSeenUs: 100, values: new Map([[1, theirs]]) });
    const out = await service(db, { current: [e] }).assign('device-d');
    expect(summary(out)).to.deep.equal([[1, theirs, e.options[theirs]!.value, false]]);
  });

  it('skips a stored position that no longer names an option', async () => {
    const db = new DeviceDb();
    const e = experiment(1, 0);
    db.devices.set('device-e', { firstSeenUs: 100, values: new Map([[1, 9]]) });
    expect(await service(db, { current: [e] }).assign('device-e')).to.deep.equal([]);
  });

  it('reads segments only for a viewer of a device eligible for a targeted experiment', async () => {
    const db = new DeviceDb();
    const open = experiment(1, 0);
    const targeted = experiment(2, 5_000, { include: ['vip'] }); // created after the device
    const asked: string[] = [];
    const svc = service(db, { current: [open, targeted] }, (viewer) => {
      asked.push(viewer);
      return Promise.resolve(new Set(['vip']));
    });
    const out = await svc.assign('device-f', 'viewer-1');
    expect(asked, 'not eligible: no segment read').to.deep.equal([]);
    expect(out.map((a) => a.experiment.id)).to.deep.equal([1]);
    const eligible = experiment(3, 0, { include: ['vip'] });
    const svc2 = service(db, { current: [open, eligible] }, (viewer) => {
      asked.push(viewer);
      return Promise.resolve(new Set(['vip']));
    });
    const out2 = await svc2.assign('device-f', 'viewer-1');
    expect(asked).to.deep.equal(['viewer-1']);
    expect(out2.map((a) => [a.experiment.id, a.isNew])).to.deep.equal([
      [1, false],
      [3, true],
    ]);
  });
});

/**
 * A pool over DeviceDb that holds every statement until the test lets it run, so the
 * statements in flight at once, and the requests waiting behind them, can be counted.
 */
function heldPool(db: DeviceDb) {
  const held: { name: string; run: () => void }[] = [];
  const pool = {
    query: (q: QueryConfig) =>
      new Promise((resolve, reject) => {
        held.push({ name: q.name!, run: () => void db.pool.query(q).then(resolve, reject) });
      }),
  } as unknown as Pool;
  return { pool, held };
}

const turns = async (n = 5) => {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
};

describe('AssignmentService (statement bounds it sets up)', () => {
  const e = experiment(1, 0);
  const running = () => new RunningExperiments({ running: async () => [e] }, Infinity);

  it('reads devices two statements at a time, and answers 503 once the queue behind them is full', async () => {
    const db = new DeviceDb();
    for (const d of ['d1', 'd2', 'd3']) db.devices.set(d, { firstSeenUs: 10, values: new Map([[1, 0]]) });
    const { pool, held } = heldPool(db);
    const svc = new AssignmentService(pool, running(), {
      cacheSize: 100,
      registerLingerMs: 0,
      deviceLoad: 'lookup-first',
      queueMax: 1,
    });
    const served: Promise<unknown>[] = [];
    for (const d of ['d1', 'd2', 'd3']) {
      served.push(svc.assign(d));
      await turns();
    }
    expect(held.map((h) => h.name)).to.deep.equal(['devices-read', 'devices-read']);
    const err = await svc.assign('d4').then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(err).to.be.instanceOf(UnavailableError);
    expect((err as UnavailableError).code).to.equal('overloaded');
    // The waiting request is served once a read returns (returning devices: nothing more to do).
    for (let i = 0; i < 20 && held.length > 0; i++) {
      for (const h of held.splice(0)) h.run();
      await turns();
    }
    expect((await Promise.all(served)).map((a) => (a as unknown[]).length)).to.deep.equal([1, 1, 1]);
  });

  it('registers one statement at a time, 200 devices at most, and bounds the queue behind it', async () => {
    const db = new DeviceDb();
    const { pool, held } = heldPool(db);
    const observed: [string, number][] = [];
    const svc = new AssignmentService(
      pool,
      running(),
      { cacheSize: 1000, registerLingerMs: 0, deviceLoad: 'one-statement', queueMax: 250 },
      undefined,
      { keys: (name, keys) => observed.push([name, keys]), wait: () => undefined },
    );
    const served = Array.from({ length: 450 }, (_, i) => svc.assign(`r${i}`));
    await turns();
    expect(held.map((h) => h.name)).to.deep.equal(['devices-load']);
    expect(observed).to.deep.equal([['devices-load', 200]]);
    const refused = await svc.assign('one-too-many').then(
      () => undefined,
      (x: unknown) => x,
    );
    expect(refused).to.be.instanceOf(UnavailableError);
    for (let i = 0; i < 20 && held.length > 0; i++) {
      held.shift()!.run();
      await turns();
    }
    expect(observed).to.deep.equal([
      ['devices-load', 200],
      ['devices-load', 200],
      ['devices-load', 50],
    ]);
    expect(await Promise.all(served)).to.have.length(450);
  });

  it('lets a registration linger, and reports reads and registrations under their statement names', async () => {
    const db = new DeviceDb();
    const observed: string[] = [];
    const svc = new AssignmentService(
      db.pool,
      running(),
      { cacheSize: 100, registerLingerMs: 40, deviceLoad: 'lookup-first' },
      undefined,
      { keys: (name) => observed.push(name), wait: () => undefined },
    );
    const started = performance.now();
    const out = await svc.assign('new-device');
    expect(performance.now() - started).to.be.at.least(35);
    expect(out).to.have.length(1);
    expect(observed).to.deep.equal(['devices-read', 'devices-load']);
    expect(db.statements).to.deep.equal(['devices-read', 'devices-load']);
  });
});

describe('AssignmentService (eligibility at the boundary, and what a request costs)', () => {
  const statementsSince = (db: DeviceDb, from: number) => db.statements.slice(from);

  it('counts an experiment created at the very microsecond the device was first seen, cached or targeted', async () => {
    const db = new DeviceDb(); // registers devices at 1_000
    const a = experiment(1, 0);
    const same = experiment(2, 1_000);
    const list = { current: [a] };
    const svc = service(db, list);
    await svc.assign('device-g');
    list.current = [a, same]; // visible to this process only after it cached the device
    const out = await svc.assign('device-g');
    expect(out.map((x) => [x.experiment.id, x.isNew])).to.deep.equal([
      [1, false],
      [2, true],
    ]);
    const targeted = experiment(3, 1_000, { include: ['vip'] });
    const asked: string[] = [];
    const member = service(db, { current: [targeted] }, (viewer) => {
      asked.push(viewer);
      return Promise.resolve(new Set(['vip']));
    });
    expect((await member.assign('device-g', 'viewer-1')).map((x) => x.experiment.id)).to.deep.equal([3]);
    expect(asked).to.deep.equal(['viewer-1']);
  });

  it('serves a cached device from memory while newer experiments it is not eligible for run', async () => {
    const db = new DeviceDb();
    const a = experiment(1, 0);
    const list = { current: [a] };
    const svc = service(db, list);
    await svc.assign('device-h');
    list.current = [a, experiment(2, 5_000)];
    const from = db.statements.length;
    const out = await svc.assign('device-h');
    expect(statementsSince(db, from)).to.deep.equal([]);
    expect(out.map((x) => x.experiment.id)).to.deep.equal([1]);
  });

  it('never serves an experiment created after the device was first seen, even with a value stored in it', async () => {
    const db = new DeviceDb();
    db.devices.set('device-i', {
      firstSeenUs: 100,
      values: new Map([
        [1, 0],
        [2, 1],
      ]),
    });
    const out = await service(db, { current: [experiment(1, 0), experiment(2, 500)] }).assign('device-i');
    expect(out.map((x) => x.experiment.id)).to.deep.equal([1]);
  });

  it('a cached device a member enters: read again, and nothing stored when another replica entered it first', async () => {
    const db = new DeviceDb();
    const open = experiment(1, 0);
    const targeted = experiment(2, 0, { include: ['vip'] });
    const svc = service(db, { current: [open, targeted] }, () => Promise.resolve(new Set(['vip'])));
    await svc.assign('device-j'); // no viewer: the targeted experiment is not entered
    const theirs = (pickFor(targeted, 'device-j') + 1) % targeted.options.length;
    db.devices.get('device-j')!.values.set(2, theirs);
    const from = db.statements.length;
    const out = await svc.assign('device-j', 'viewer-1');
    expect(statementsSince(db, from)).to.deep.equal(['devices-read']);
    expect(out.map((x) => [x.experiment.id, x.optionIndex, x.isNew])).to.deep.equal([
      [1, pickFor(open, 'device-j'), false],
      [2, theirs, false],
    ]);
  });

  it("a device's first request with a member viewer: read once, registered, then entered", async () => {
    const db = new DeviceDb();
    const open = experiment(1, 0);
    const targeted = experiment(2, 0, { include: ['vip'] });
    const svc = service(db, { current: [open, targeted] }, () => Promise.resolve(new Set(['vip'])));
    const out = await svc.assign('device-k', 'viewer-1');
    expect(db.statements).to.deep.equal(['devices-read', 'devices-load', 'assignments-insert']);
    expect(out.map((x) => [x.experiment.id, x.isNew])).to.deep.equal([
      [1, true],
      [2, true],
    ]);
  });

  it('keeps reading first while the devices it loads are returning ones (adaptive)', async () => {
    const db = new DeviceDb();
    const e = experiment(1, 0);
    for (let i = 0; i < 200; i++) db.devices.set(`old-${i}`, { firstSeenUs: 10, values: new Map([[1, 0]]) });
    const running = new RunningExperiments({ running: async () => [e] }, Infinity);
    const svc = new AssignmentService(db.pool, running, { cacheSize: 1000, registerLingerMs: 0 });
    for (let i = 0; i < 200; i++) await svc.assign(`old-${i}`);
    expect(new Set(db.statements)).to.deep.equal(new Set(['devices-read']));
    expect(db.statements).to.have.length(200);
  });
});
