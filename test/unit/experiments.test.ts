import { expect } from 'chai';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { deviceToken } from '../../api/src/experiments/device.routes.js';
import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';
import { RunningExperiments } from '../../api/src/experiments/running-experiments.js';
import { csvField, statsCsv } from '../../api/src/experiments/stats-csv.js';
import { escapeHtml, statsPage } from '../../api/src/experiments/stats-page.js';
import { CreateExperiment } from '../../lib/contracts/experiment.js';
import { ExposureMessageV1 } from '../../lib/contracts/exposure.js';
import type { StatsReport } from '../../lib/contracts/experiment.js';
import { toDbError } from '../../lib/db/errors.js';
import { UnavailableError, ValidationError } from '../../lib/errors.js';

const report: StatsReport = {
  generated_at: '2026-11-22T10:00:00.000Z',
  srm_threshold: 0.001,
  completion_available: true,
  experiments: [
    {
      key: 'price',
      status: 'running',
      created_at: '2026-11-01T00:00:00.000Z',
      total_devices: 3,
      srm: { chi_square: 1.5, p_value: 0.68, mismatch: false },
      options: [
        {
          index: 0,
          value: 'a,"b"',
          devices: 2,
          share: 2 / 3,
          target_share: 0.5,
          completion: { viewers: 2, mean: 0.5, ci95_low: 0.25, ci95_high: 0.75 },
        },
        { index: 1, value: 10, devices: 1, share: 1 / 3, target_share: 0.5, completion: null },
      ],
    },
  ],
};

describe('experiments: pure parts', () => {
  it('validates the Device-Token header', () => {
    expect(deviceToken('dev-0123456789')).to.equal('dev-0123456789');
    for (const bad of ['', 'short', 'with space!', 'x'.repeat(129)]) {
      expect(() => deviceToken(bad), bad).to.throw(ValidationError);
    }
  });

  it('validates experiment definitions', () => {
    const ok = {
      key: 'price',
      options: [
        { value: 10, weight: 75 },
        { value: 20, weight: 25 },
      ],
    };
    expect(CreateExperiment.safeParse(ok).success).to.equal(true);
    expect(CreateExperiment.safeParse({ ...ok, key: '1price' }).success).to.equal(false);
    expect(CreateExperiment.safeParse({ ...ok, options: [ok.options[0], ok.options[0]] }).success).to.equal(
      false,
    );
    expect(
      CreateExperiment.safeParse({ ...ok, options: [{ value: 1, weight: Infinity }, ok.options[1]] }).success,
    ).to.equal(false);
  });

  it('accepts exposures with or without a viewer, and nothing else', () => {
    const m = {
      schema_version: 1,
      event_id: '0b9c7c1e-8f7a-4e43-9a52-2f3f2f6b2a10',
      device_id: 'dev-0123456789',
      viewer_id: null,
      experiment: 'price',
      option_index: 0,
      value: '10',
      received_at: '2026-11-22T10:00:00.000Z',
    };
    expect(ExposureMessageV1.safeParse(m).success).to.equal(true);
    expect(ExposureMessageV1.safeParse({ ...m, viewer_id: 'not-a-uuid' }).success).to.equal(false);
    expect(ExposureMessageV1.safeParse({ ...m, extra: 1 }).success).to.equal(false);
  });

  it('reuses the running experiments for the TTL and shares one refresh', async () => {
    let now = 0;
    let loads = 0;
    const list = [{ key: 'a' }] as unknown as StoredExperiment[];
    const running = new RunningExperiments(
      {
        running: async () => {
          loads++;
          await new Promise((r) => setTimeout(r, 5));
          return list;
        },
      },
      1000,
      () => now,
    );
    await Promise.all([running.get(), running.get(), running.get()]);
    expect(loads).to.equal(1);
    now = 999;
    await running.get();
    expect(loads).to.equal(1);
    now = 1000;
    await running.get();
    expect(loads).to.equal(2);
    running.invalidate();
    await running.get();
    expect(loads).to.equal(3);
  });

  it('writes RFC 4180 CSV', () => {
    expect(csvField('plain')).to.equal('plain');
    expect(csvField('a,b')).to.equal('"a,b"');
    expect(csvField('say "hi"')).to.equal('"say ""hi"""');
    expect(csvField(null)).to.equal('');
    const lines = statsCsv(report).split('\r\n');
    expect(lines).to.have.length(4);
    expect(lines[1]).to.equal(
      'price,running,3,1.5,0.68,false,0,"""a,\\""b\\""""",2,0.6666666666666666,0.5,2,0.5,0.25,0.75',
    );
    expect(lines[2]).to.equal('price,running,3,1.5,0.68,false,1,10,1,0.3333333333333333,0.5,,,,');
  });

  it('escapes everything it puts on the page', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).to.equal(
      '&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;',
    );
    const html = statsPage({
      ...report,
      experiments: [
        {
          ...report.experiments[0]!,
          options: [{ ...report.experiments[0]!.options[0]!, value: '<img src=x onerror=alert(1)>' }],
        },
      ],
    });
    expect(html).to.not.include('<img');
    expect(html).to.include('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).to.include('50.0% <span class="ci">[25.0% – 75.0%]</span>');
  });

  it('turns database outages into 503 and leaves bugs alone', () => {
    for (const err of [
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
      Object.assign(new Error('canceling statement due to statement timeout'), { code: '57014' }),
      new Error('timeout exceeded when trying to connect'),
      new Error('Connection terminated unexpectedly'),
    ]) {
      expect(toDbError(err), err.message).to.be.instanceOf(UnavailableError);
    }
    const syntax = Object.assign(new Error('syntax error'), { code: '42601' });
    expect(toDbError(syntax)).to.equal(syntax);
  });
});

describe('Lru', () => {
  it('evicts the least recently used entry', async () => {
    const { Lru } = await import('../../api/src/lru.js');
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).to.equal(1); // a is now the most recent
    lru.set('c', 3);
    expect(lru.get('b')).to.equal(undefined);
    expect(lru.get('a')).to.equal(1);
    expect(lru.get('c')).to.equal(3);
    expect(lru.size).to.equal(2);
    const off = new Lru<string, number>(0);
    off.set('a', 1);
    expect(off.get('a')).to.equal(undefined);
  });

  it('keeps exactly the most recently used keys over many random gets and sets', async () => {
    const { Lru } = await import('../../api/src/lru.js');
    // Small bounds so eviction, re-insertion and the holes they leave happen thousands of times.
    for (const max of [1, 3, 50]) {
      const lru = new Lru<number, number>(max);
      const order: number[] = []; // reference: least recent first
      const touch = (k: number) => {
        const i = order.indexOf(k);
        if (i >= 0) order.splice(i, 1);
        order.push(k);
      };
      let seed = max;
      // 32-bit LCG; its high bits, since the low ones cycle with short periods.
      const rand = (n: number) => {
        seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
        return (seed >>> 16) % n;
      };
      for (let op = 0; op < 20_000; op++) {
        const k = rand(4 * max + 2);
        if (rand(2) === 0) {
          lru.set(k, op);
          touch(k);
          if (order.length > max) order.shift();
        } else {
          const hit = order.includes(k);
          expect(lru.get(k) !== undefined, `get ${k} at op ${op}`).to.equal(hit);
          if (hit) touch(k);
        }
        expect(lru.size).to.equal(order.length);
      }
      for (const k of order) expect(lru.get(k), `key ${k}`).not.to.equal(undefined);
      lru.clear();
      lru.set(7, 1);
      expect(lru.get(7)).to.equal(1);
    }
  });

  it('replaces the value of a key set again and makes it the most recent', async () => {
    const { Lru } = await import('../../api/src/lru.js');
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10);
    lru.set('c', 3); // evicts b, the least recent after a was set again
    expect([lru.get('a'), lru.get('b'), lru.get('c'), lru.size]).to.deep.equal([10, undefined, 3, 2]);
  });

  it('keeps its memory bounded however many hits it serves below its bound', async () => {
    // The Map-only version held every table V8 rebuilt after hits while its long-lived
    // iterator did not move, which it only did on eviction: ~46 MB per million hits on a
    // cache of 200 tokens below its bound of 1,000, without end.
    const { Lru } = await import('../../api/src/lru.js');
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const lru = new Lru<string, number>(1000);
    const keys = Array.from({ length: 200 }, (_, i) => `token-${i}-${'x'.repeat(100)}`);
    for (const k of keys) lru.set(k, 1);
    gc();
    const before = process.memoryUsage().heapUsed;
    for (let i = 0; i < 1_000_000; i++) lru.get(keys[i % 200]!);
    gc();
    const grownMb = (process.memoryUsage().heapUsed - before) / 1e6;
    expect(grownMb, `heap grew ${grownMb.toFixed(1)} MB`).to.be.below(10);
    expect(lru.size).to.equal(200);
  });
});
