import { expect } from 'chai';
import type { Pool } from 'pg';
import { SegmentStore } from '../../api/src/segments/segment-store.js';
import { ConflictError, NotFoundError } from '../../lib/errors.js';

/**
 * The logic of SegmentStore that is not SQL: which expiry a change asks for, which history
 * a change writes for a membership that is or is not active, the errors for unknown users
 * and segments, and how rows become the API's shapes. The SQL itself (row locks, the
 * active-membership predicate, the rollout) is exercised against PostgreSQL in
 * test/integration/segments.test.ts; here a scripted database double answers each
 * statement and records what the store asked for.
 */

const USER = '6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';
const OTHER = '7f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b';

interface Db {
  users: Set<string>;
  segments: Map<string, string>; // slug -> id
  active: Set<string>; // `${userId}/${segmentId}` memberships active now
  rows: Record<string, unknown>[]; // answer to the batched user-segments read
  steps: string[];
  upserts: unknown[][];
  expiries: unknown[][];
  /** Statements of create() and delete(), with their values (and timeout, if any). */
  calls: { what: string; values: unknown[]; timeout?: number }[];
  /** What the segment insert throws instead of inserting, if anything. */
  createFails?: Error;
}

type Query = string | { text: string; name?: string; values?: unknown[] };

function database(db: Db): Pool {
  const answer = (q: Query, params: unknown[] = []) => {
    const text = typeof q === 'string' ? q : q.text;
    const values = typeof q === 'string' ? params : (q.values ?? params);
    const name = typeof q === 'string' ? undefined : q.name;
    const s = text.replace(/\s+/g, ' ').trim();
    if (s === 'BEGIN' || s === 'COMMIT' || s === 'ROLLBACK') {
      db.steps.push(s);
      return { rows: [], rowCount: 0 };
    }
    const call = (what: string, rows: unknown[] = [], rowCount = rows.length) => {
      db.steps.push(what);
      db.calls.push({
        what,
        values,
        ...(typeof q === 'string' ? {} : { timeout: (q as { query_timeout?: number }).query_timeout }),
      });
      return { rows, rowCount };
    };
    if (s.startsWith('INSERT INTO segments (slug, percent) VALUES ($1, $2) RETURNING id')) {
      if (db.createFails !== undefined) throw db.createFails;
      if (db.segments.has(values[0] as string))
        throw Object.assign(new Error('duplicate key'), { code: '23505' });
      return call('insert segment', [{ id: '13' }]);
    }
    if (s.startsWith('SET LOCAL statement_timeout = ')) return call(s);
    if (s.startsWith('WITH rolled AS ( INSERT INTO user_segments')) return call('rollout');
    if (s === 'SELECT id FROM segments WHERE slug = $1 FOR UPDATE') {
      const id = db.segments.get(values[0] as string);
      return call('lock segment', id === undefined ? [] : [{ id }]);
    }
    if (s.includes("SELECT us.user_id, $2, 'remove', 'segment_deleted', clock_timestamp()"))
      return call('history: members removed');
    if (s === 'DELETE FROM segments WHERE id = $1') return call('delete segment');
    if (name === 'user-segments-read') {
      const rows = db.rows.filter((r) => (values[0] as string[]).includes(r.user_id as string));
      return { rows, rowCount: rows.length };
    }
    if (name === 'user-segments-active') return call('read active', db.rows);
    if (s.includes('FROM users WHERE id = $1 AND NOT deleted FOR UPDATE')) {
      db.steps.push('lock user');
      return { rows: [], rowCount: db.users.has(values[0] as string) ? 1 : 0 };
    }
    if (s.startsWith('SELECT id, slug FROM segments')) {
      const rows = (values[0] as string[]).flatMap((slug) =>
        db.segments.has(slug) ? [{ id: db.segments.get(slug)!, slug }] : [],
      );
      return { rows, rowCount: rows.length };
    }
    if (s.startsWith('DELETE FROM segment_optouts')) return call('clear optout');
    if (s.includes('AS active FROM user_segments')) {
      const active = db.active.has(`${values[0] as string}/${values[1] as string}`);
      return { rows: [{ active }], rowCount: 1 };
    }
    if (s.startsWith('DELETE FROM segment_history')) return call('drop pending expiries');
    if (s.includes("'add', 'manual'")) return call('history add');
    if (s.includes("'remove', 'expired'")) {
      db.expiries.push(values);
      db.steps.push('history expiry');
      return { rows: [{ id: 'h-1' }], rowCount: 1 };
    }
    if (s.startsWith('INSERT INTO user_segments')) {
      db.upserts.push(values);
      return call('upsert membership');
    }
    if (s.includes("'remove', 'manual'")) return call('history remove');
    if (s.startsWith('DELETE FROM user_segments')) return call('delete membership');
    if (s.startsWith('INSERT INTO segment_optouts')) return call('opt out of rollout');
    if (s.includes('FROM segments s')) return call('read segments', db.rows);
    throw new Error(`unexpected statement: ${s}`);
  };
  const query = async (q: Query, params?: unknown[]) => answer(q, params);
  return { query, connect: async () => ({ query, release: () => undefined }) } as unknown as Pool;
}

function fixture() {
  const db: Db = {
    users: new Set([USER]),
    segments: new Map([
      ['vip', '11'],
      ['beta', '12'],
    ]),
    active: new Set(),
    rows: [],
    steps: [],
    upserts: [],
    expiries: [],
    calls: [],
  };
  return { db, store: new SegmentStore(database(db), 1500.7) };
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => {
      throw new Error('expected a rejection');
    },
    (e: unknown) => e,
  );
}

describe('SegmentStore logic (database double)', () => {
  describe('change(): expiry of an added membership', () => {
    const NOW = Date.parse('2026-06-01T12:00:00Z');

    it('adds a bare slug without expiry, writing the add to the history', async () => {
      const { db, store } = fixture();
      await store.change(USER, { add: ['vip'], remove: [] }, () => NOW);
      expect(db.steps).to.deep.equal([
        'BEGIN',
        'lock user',
        'clear optout',
        'history add',
        'upsert membership',
        'read active',
        'COMMIT',
      ]);
      expect(db.upserts).to.deep.equal([[USER, '11', null, null, false]]);
      expect(db.expiries).to.deep.equal([]);
    });

    it('turns ttl_seconds into an expiry from now, with its removal dated in the history', async () => {
      const { db, store } = fixture();
      await store.change(USER, { add: [{ slug: 'vip', ttl_seconds: 90 }], remove: [] }, () => NOW);
      const expiresAt = new Date(NOW + 90_000);
      expect(db.expiries).to.deep.equal([[USER, 'vip', expiresAt]]);
      expect(db.upserts).to.deep.equal([[USER, '11', expiresAt, 'h-1', false]]);
    });

    it('takes expires_at as given, and no expiry for an object without either', async () => {
      const { db, store } = fixture();
      await store.change(
        USER,
        { add: [{ slug: 'vip', expires_at: '2026-06-02T00:00:00+02:00' }, { slug: 'beta' }], remove: [] },
        () => NOW,
      );
      expect(db.upserts).to.deep.equal([
        [USER, '11', new Date('2026-06-01T22:00:00Z'), 'h-1', false],
        [USER, '12', null, null, false],
      ]);
    });

    it('keeps an active membership (no second add in the history), dropping its pending expiry', async () => {
      const { db, store } = fixture();
      db.active.add(`${USER}/11`);
      await store.change(USER, { add: ['vip'], remove: [] }, () => NOW);
      expect(db.steps).to.include('drop pending expiries');
      expect(db.calls).to.deep.include({ what: 'drop pending expiries', values: [USER, '11'] });
      expect(db.steps).to.not.include('history add');
      expect(db.upserts).to.deep.equal([[USER, '11', null, null, true]]);
    });
  });

  describe('change(): removal', () => {
    it('writes the removal of an active membership to the history, and opts the user out of the rollout', async () => {
      const { db, store } = fixture();
      db.active.add(`${USER}/12`);
      await store.change(USER, { add: [], remove: ['beta'] });
      expect(db.steps.slice(2, -2)).to.deep.equal([
        'drop pending expiries',
        'history remove',
        'delete membership',
        'opt out of rollout',
      ]);
    });

    it('writes no history for a membership that is not active', async () => {
      const { db, store } = fixture();
      await store.change(USER, { add: [], remove: ['beta'] });
      expect(db.steps.slice(2, -2)).to.deep.equal(['delete membership', 'opt out of rollout']);
    });
  });

  describe('change(): which user and segment each statement is about', () => {
    it('passes the user and each segment (id or slug) to every statement of a change', async () => {
      const { db, store } = fixture();
      db.active.add(`${USER}/12`);
      await store.change(USER, { add: ['vip'], remove: ['beta'] });
      expect(db.calls.map((c) => [c.what, c.values])).to.deep.equal([
        ['clear optout', [USER, '11']],
        ['history add', [USER, 'vip']],
        ['upsert membership', [USER, '11', null, null, false]],
        ['drop pending expiries', [USER, '12']],
        ['history remove', [USER, 'beta']],
        ['delete membership', [USER, '12']],
        ['opt out of rollout', [USER, '12']],
        ['read active', [USER]],
      ]);
    });

    it('reads one segment by its slug', async () => {
      const { db, store } = fixture();
      db.rows = [{ slug: 'beta', percent: null, created_at: new Date(0), members: '0' }];
      await store.get('beta');
      expect(db.calls).to.deep.equal([{ what: 'read segments', values: ['beta'] }]);
    });
  });

  describe('change(): unknown user or segment', () => {
    it('refuses an unknown user, rolling back', async () => {
      const { db, store } = fixture();
      const err = await rejection(store.change(OTHER, { add: ['vip'], remove: [] }));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal(`no user ${OTHER}`);
      expect(db.steps).to.deep.equal(['BEGIN', 'lock user', 'ROLLBACK']);
    });

    it('names every unknown segment, each as a detail, before changing anything', async () => {
      const { db, store } = fixture();
      const err = await rejection(store.change(USER, { add: ['vip', 'nope'], remove: ['gone'] }));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal('no segment nope, gone');
      expect((err as NotFoundError).details).to.deep.equal([
        { path: 'nope', code: 'unknown_segment', message: 'no segment nope' },
        { path: 'gone', code: 'unknown_segment', message: 'no segment gone' },
      ]);
      expect(db.steps).to.deep.equal(['BEGIN', 'lock user', 'ROLLBACK']);
      expect(db.upserts).to.deep.equal([]);
    });
  });

  describe('reads', () => {
    const added = new Date('2026-05-01T10:00:00Z');
    const expires = new Date('2026-07-01T10:00:00Z');

    it('groups the memberships of each user, keeps a user without any, and maps times to ISO', async () => {
      const { db, store } = fixture();
      db.rows = [
        { user_id: USER, slug: 'beta', source: 'rollout', added_at: added, expires_at: null },
        { user_id: USER, slug: 'vip', source: 'manual', added_at: added, expires_at: expires },
        { user_id: OTHER, slug: null, source: null, added_at: null, expires_at: null },
      ];
      const [mine, other] = await Promise.all([store.forUser(USER), store.forUser(OTHER)]);
      expect(mine).to.deep.equal({
        user_id: USER,
        segments: [
          { slug: 'beta', source: 'rollout', added_at: '2026-05-01T10:00:00.000Z', expires_at: null },
          {
            slug: 'vip',
            source: 'manual',
            added_at: '2026-05-01T10:00:00.000Z',
            expires_at: '2026-07-01T10:00:00.000Z',
          },
        ],
      });
      expect(other).to.deep.equal({ user_id: OTHER, segments: [] });
      expect([...(await store.activeSlugs(USER))]).to.deep.equal(['beta', 'vip']);
      expect([...(await store.activeSlugs(OTHER))]).to.deep.equal([]);
    });

    it('reads concurrent lookups in one statement, reported under its name', async () => {
      const { db } = fixture();
      db.rows = [{ user_id: USER, slug: null, source: null, added_at: null, expires_at: null }];
      const batches: [string, number][] = [];
      const store = new SegmentStore(database(db), 1_000, {
        keys: (name, keys) => batches.push([name, keys]),
        wait: () => undefined,
      });
      await Promise.all([store.forUser(USER), store.activeSlugs(OTHER), store.activeSlugs(USER)]);
      expect(batches).to.deep.equal([['user-segments-read', 2]]);
    });

    it('answers an unknown user with NotFoundError, or no slugs for targeting', async () => {
      const { store } = fixture();
      const err = await rejection(store.forUser(OTHER));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal(`no user ${OTHER}`);
      expect((await store.activeSlugs(OTHER)).size).to.equal(0);
    });

    it('maps segment rows: percent and member count to numbers, no percent to null', async () => {
      const { db, store } = fixture();
      const created = new Date('2026-01-02T03:04:05Z');
      db.rows = [
        { slug: 'vip', percent: null, created_at: created, members: '3' },
        { slug: 'beta', percent: '12.5', created_at: created, members: '0' },
      ];
      expect(await store.list()).to.deep.equal([
        { slug: 'vip', percent: null, created_at: '2026-01-02T03:04:05.000Z', members: 3 },
        { slug: 'beta', percent: 12.5, created_at: '2026-01-02T03:04:05.000Z', members: 0 },
      ]);
      db.rows = db.rows.slice(1);
      expect(await store.get('beta')).to.deep.equal({
        slug: 'beta',
        percent: 12.5,
        created_at: '2026-01-02T03:04:05.000Z',
        members: 0,
      });
      db.rows = [];
      const err = await rejection(store.get('nope'));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal('no segment nope');
    });
  });

  describe('create()', () => {
    const created = new Date('2026-01-02T03:04:05Z');
    const view = { slug: 'new', percent: '25', created_at: created, members: '7' };

    it('creates a segment without a rollout when it has no percent, or 0', async () => {
      for (const percent of [undefined, 0]) {
        const { db, store } = fixture();
        db.rows = [{ ...view, percent: percent === undefined ? null : '0', members: '0' }];
        const out = await store.create({ slug: 'new', ...(percent === undefined ? {} : { percent }) });
        expect(db.steps).to.deep.equal(['BEGIN', 'insert segment', 'read segments', 'COMMIT']);
        expect(db.calls[0]!.values).to.deep.equal(['new', percent ?? null]);
        expect(out).to.deep.equal({
          slug: 'new',
          percent: percent ?? null,
          created_at: '2026-01-02T03:04:05.000Z',
          members: 0,
        });
      }
    });

    it('rolls a percentage out to existing users in the same transaction, with a longer timeout', async () => {
      const { db, store } = fixture();
      db.rows = [view];
      const out = await store.create({ slug: 'new', percent: 25 });
      expect(db.steps).to.deep.equal([
        'BEGIN',
        'insert segment',
        'SET LOCAL statement_timeout = 1500',
        'rollout',
        'read segments',
        'COMMIT',
      ]);
      expect(db.calls.find((c) => c.what === 'rollout')).to.deep.equal({
        what: 'rollout',
        values: ['13', 'new'],
        timeout: 2500.7,
      });
      expect(out.members).to.equal(7);
    });

    it('answers a slug taken with 409, and passes any other failure on, rolling back', async () => {
      const { db, store } = fixture();
      const err = await rejection(store.create({ slug: 'vip' }));
      expect(err).to.be.instanceOf(ConflictError);
      expect((err as Error).message).to.equal('segment vip already exists');
      expect(db.steps).to.deep.equal(['BEGIN', 'ROLLBACK']);

      const other = fixture();
      other.db.createFails = Object.assign(new Error('check constraint'), { code: '23514' });
      const err2 = await rejection(other.store.create({ slug: 'new', percent: 200 }));
      expect(err2).to.not.be.instanceOf(ConflictError);
      expect((err2 as Error).message).to.equal('check constraint');
      expect(other.db.steps).to.deep.equal(['BEGIN', 'ROLLBACK']);
    });
  });

  describe('delete()', () => {
    it('ends every active membership in the history, drops pending expiries, then the segment', async () => {
      const { db, store } = fixture();
      await store.delete('beta');
      expect(db.steps).to.deep.equal([
        'BEGIN',
        'lock segment',
        'history: members removed',
        'drop pending expiries',
        'delete segment',
        'COMMIT',
      ]);
      expect(db.calls.map((c) => [c.what, c.values])).to.deep.equal([
        ['lock segment', ['beta']],
        ['history: members removed', ['12', 'beta']],
        ['drop pending expiries', ['12']],
        ['delete segment', ['12']],
      ]);
    });

    it('answers an unknown segment with 404, changing nothing', async () => {
      const { db, store } = fixture();
      const err = await rejection(store.delete('nope'));
      expect(err).to.be.instanceOf(NotFoundError);
      expect((err as Error).message).to.equal('no segment nope');
      expect(db.steps).to.deep.equal(['BEGIN', 'lock segment', 'ROLLBACK']);
    });
  });
});
