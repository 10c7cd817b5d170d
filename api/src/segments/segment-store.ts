import type { Pool, PoolClient, QueryConfig } from 'pg';
import type { CreateSegment, SegmentChange, UserSegments } from '../../../lib/contracts/segment.js';
import { BatchLoader, IGNORE_BATCHES, observed, type BatchObserver } from '../db/batch-loader.js';
import { db, isUniqueViolation } from '../../../lib/db/errors.js';
import { inTransaction } from '../db/transaction.js';
import { ConflictError, NotFoundError } from '../../../lib/errors.js';

export interface SegmentView {
  slug: string;
  percent: number | null;
  created_at: string;
  members: number;
}

const ACTIVE = '(us.expires_at IS NULL OR us.expires_at > clock_timestamp())';

/**
 * Segments and memberships in PostgreSQL. Every change to one user runs in one
 * transaction holding that user's row lock, so parallel changes for a user serialize:
 * none is lost, overwritten or applied twice. Every add and removal is written to the
 * history in the same transaction.
 */
export class SegmentStore {
  private readonly reader: BatchLoader<string, UserSegments>;

  constructor(
    private readonly pool: Pool,
    /** Longest a percentage rollout over every user may take (it runs in one statement). */
    private readonly rolloutTimeoutMs = 120_000,
    observeBatch: BatchObserver = IGNORE_BATCHES,
  ) {
    this.reader = new BatchLoader((ids) => this.readMany(ids), {
      ...observed('user-segments-read', observeBatch),
    });
  }

  /** Creates a segment; with a percent, existing users in the rollout get it at once. */
  create(input: CreateSegment): Promise<SegmentView> {
    return inTransaction(this.pool, async (client) => {
      let id: string;
      try {
        id = (
          await client.query<{ id: string }>(
            'INSERT INTO segments (slug, percent) VALUES ($1, $2) RETURNING id',
            [input.slug, input.percent ?? null],
          )
        ).rows[0]!.id;
      } catch (err) {
        if (isUniqueViolation(err)) throw new ConflictError(`segment ${input.slug} already exists`);
        throw err;
      }
      if (input.percent !== undefined && input.percent > 0) {
        // One set-based statement over all users: far longer than a request's query.
        await client.query(`SET LOCAL statement_timeout = ${Math.floor(this.rolloutTimeoutMs)}`);
        // NOTE: pg reads a per-query query_timeout; its types do not declare it.
        const rollout: QueryConfig & { query_timeout: number } = {
          text: `WITH rolled AS (
             INSERT INTO user_segments (user_id, segment_id, source)
             SELECT u.id, s.id, 'rollout' FROM users u, segments s
              WHERE s.id = $1 AND NOT u.deleted AND segment_bucket(s.seed, u.id) < s.percent / 100
             RETURNING user_id, added_at
           )
           INSERT INTO segment_history (user_id, segment, operation, reason, at)
           SELECT user_id, $2, 'add', 'rollout', added_at FROM rolled`,
          values: [id, input.slug],
          query_timeout: this.rolloutTimeoutMs + 1000,
        };
        await client.query(rollout);
      }
      return this.view(client, input.slug);
    });
  }

  list(): Promise<SegmentView[]> {
    return db(async () =>
      (await this.pool.query<SegmentRow>(`${SEGMENT_SELECT} ORDER BY s.id`)).rows.map(toView),
    );
  }

  get(slug: string): Promise<SegmentView> {
    return db(async () => this.view(this.pool, slug));
  }

  /** Deletes a segment: everyone active in it is deprived, each removal in the history. */
  delete(slug: string): Promise<void> {
    return inTransaction(this.pool, async (client) => {
      const found = await client.query<{ id: string }>('SELECT id FROM segments WHERE slug = $1 FOR UPDATE', [
        slug,
      ]);
      if (found.rowCount === 0) throw new NotFoundError(`no segment ${slug}`);
      const id = found.rows[0]!.id;
      await client.query(
        `INSERT INTO segment_history (user_id, segment, operation, reason, at)
         SELECT us.user_id, $2, 'remove', 'segment_deleted', clock_timestamp()
           FROM user_segments us WHERE us.segment_id = $1 AND ${ACTIVE}`,
        [id, slug],
      );
      await dropPendingExpiries(client, 'us.segment_id = $1', [id]);
      await client.query('DELETE FROM segments WHERE id = $1', [id]);
    });
  }

  /** Adds and removes one user's segments, all or nothing. */
  change(userId: string, change: SegmentChange, now: () => number = Date.now): Promise<UserSegments> {
    return inTransaction(this.pool, async (client) => {
      await lockUser(client, userId);
      const slugs = [...change.add.map((a) => (typeof a === 'string' ? a : a.slug)), ...change.remove];
      const ids = await segmentIds(client, slugs);
      for (const item of change.add) {
        const slug = typeof item === 'string' ? item : item.slug;
        const expiresAt =
          typeof item === 'string'
            ? null
            : item.expires_at !== undefined
              ? new Date(item.expires_at)
              : item.ttl_seconds !== undefined
                ? new Date(now() + item.ttl_seconds * 1000)
                : null;
        await add(client, userId, ids.get(slug)!, slug, expiresAt);
      }
      for (const slug of change.remove) await remove(client, userId, ids.get(slug)!, slug);
      return this.active(client, userId);
    });
  }

  /** A user's active segments (expired ones are not, from their expiry on). */
  async forUser(userId: string): Promise<UserSegments> {
    const found = await this.reader.load(userId);
    if (found === undefined) throw new NotFoundError(`no user ${userId}`);
    return found;
  }

  /** The slugs a user is active in (experiment targeting); none for an unknown user. */
  async activeSlugs(userId: string): Promise<Set<string>> {
    return new Set((await this.reader.load(userId))?.segments.map((s) => s.slug));
  }

  /**
   * Users and their active memberships, in one query for all the lookups of one
   * event-loop turn; deleted and unknown users are absent.
   */
  private async readMany(userIds: string[]): Promise<Map<string, UserSegments>> {
    const rows = await db(() =>
      this.pool.query<{ user_id: string } & Partial<MembershipRow>>({
        name: 'user-segments-read',
        text: `SELECT u.id AS user_id, s.slug, us.source, us.added_at, us.expires_at
                 FROM users u
                 LEFT JOIN user_segments us ON us.user_id = u.id AND ${ACTIVE}
                 LEFT JOIN segments s ON s.id = us.segment_id
                WHERE u.id = ANY($1::uuid[]) AND NOT u.deleted
                ORDER BY u.id, s.slug`,
        values: [userIds],
      }),
    );
    const out = new Map<string, UserSegments>();
    for (const r of rows.rows) {
      let user = out.get(r.user_id);
      if (user === undefined) {
        user = { user_id: r.user_id, segments: [] };
        out.set(r.user_id, user);
      }
      if (r.slug !== undefined && r.slug !== null) user.segments.push(membership(r as MembershipRow));
    }
    return out;
  }

  private async active(q: Pool | PoolClient, userId: string): Promise<UserSegments> {
    const rows = await q.query<MembershipRow>({
      name: 'user-segments-active',
      text: `SELECT s.slug, us.source, us.added_at, us.expires_at
                 FROM user_segments us JOIN segments s ON s.id = us.segment_id
                WHERE us.user_id = $1 AND ${ACTIVE}
                ORDER BY s.slug`,
      values: [userId],
    });
    return { user_id: userId, segments: rows.rows.map(membership) };
  }

  private async view(q: Pool | PoolClient, slug: string): Promise<SegmentView> {
    const rows = await q.query<SegmentRow>(`${SEGMENT_SELECT} WHERE s.slug = $1`, [slug]);
    if (rows.rowCount === 0) throw new NotFoundError(`no segment ${slug}`);
    return toView(rows.rows[0]!);
  }
}

interface MembershipRow {
  slug: string;
  source: 'manual' | 'rollout';
  added_at: Date;
  expires_at: Date | null;
}

function membership(r: MembershipRow): UserSegments['segments'][number] {
  return {
    slug: r.slug,
    source: r.source,
    added_at: r.added_at.toISOString(),
    expires_at: r.expires_at === null ? null : r.expires_at.toISOString(),
  };
}

interface SegmentRow {
  slug: string;
  percent: string | null;
  created_at: Date;
  members: string;
}

const SEGMENT_SELECT = `
  SELECT s.slug, s.percent, s.created_at,
         (SELECT count(*) FROM user_segments us WHERE us.segment_id = s.id AND ${ACTIVE}) AS members
    FROM segments s`;

function toView(r: SegmentRow): SegmentView {
  return {
    slug: r.slug,
    percent: r.percent === null ? null : Number(r.percent),
    created_at: r.created_at.toISOString(),
    members: Number(r.members),
  };
}

async function lockUser(client: PoolClient, userId: string): Promise<void> {
  const found = await client.query('SELECT 1 FROM users WHERE id = $1 AND NOT deleted FOR UPDATE', [userId]);
  if (found.rowCount === 0) throw new NotFoundError(`no user ${userId}`);
}

async function segmentIds(client: PoolClient, slugs: string[]): Promise<Map<string, string>> {
  const rows = await client.query<{ id: string; slug: string }>(
    'SELECT id, slug FROM segments WHERE slug = ANY($1)',
    [slugs],
  );
  const ids = new Map(rows.rows.map((r) => [r.slug, r.id]));
  const unknown = slugs.filter((s) => !ids.has(s));
  if (unknown.length > 0) {
    throw new NotFoundError(`no segment ${unknown.join(', ')}`, {
      details: unknown.map((slug) => ({
        path: slug,
        code: 'unknown_segment',
        message: `no segment ${slug}`,
      })),
    });
  }
  return ids;
}

/** Deletes the future-dated expiry removals of memberships about to end another way. */
async function dropPendingExpiries(client: PoolClient, where: string, values: unknown[]): Promise<void> {
  await client.query(
    `DELETE FROM segment_history h USING user_segments us
      WHERE h.id = us.expiry_history_id AND h.at > clock_timestamp() AND ${where}`,
    values,
  );
}

async function add(
  client: PoolClient,
  userId: string,
  segmentId: string,
  slug: string,
  expiresAt: Date | null,
): Promise<void> {
  await client.query('DELETE FROM segment_optouts WHERE user_id = $1 AND segment_id = $2', [
    userId,
    segmentId,
  ]);
  const current = await client.query<{ active: boolean }>(
    `SELECT ${ACTIVE} AS active FROM user_segments us WHERE us.user_id = $1 AND us.segment_id = $2`,
    [userId, segmentId],
  );
  const wasActive = current.rows[0]?.active === true;
  if (wasActive)
    await dropPendingExpiries(client, 'us.user_id = $1 AND us.segment_id = $2', [userId, segmentId]);
  else {
    await client.query(
      `INSERT INTO segment_history (user_id, segment, operation, reason, at) VALUES ($1, $2, 'add', 'manual', clock_timestamp())`,
      [userId, slug],
    );
  }
  const expiryId =
    expiresAt === null
      ? null
      : (
          await client.query<{ id: string }>(
            `INSERT INTO segment_history (user_id, segment, operation, reason, at)
             VALUES ($1, $2, 'remove', 'expired', $3) RETURNING id`,
            [userId, slug, expiresAt],
          )
        ).rows[0]!.id;
  // An active membership keeps its added_at (a new TTL is not a new membership); an
  // expired one is replaced by a new one.
  await client.query(
    `INSERT INTO user_segments AS us (user_id, segment_id, source, expires_at, expiry_history_id)
     VALUES ($1, $2, 'manual', $3, $4)
     ON CONFLICT (user_id, segment_id) DO UPDATE SET
       source = 'manual',
       added_at = CASE WHEN $5 THEN us.added_at ELSE clock_timestamp() END,
       expires_at = EXCLUDED.expires_at,
       expiry_history_id = EXCLUDED.expiry_history_id`,
    [userId, segmentId, expiresAt, expiryId, wasActive],
  );
}

async function remove(client: PoolClient, userId: string, segmentId: string, slug: string): Promise<void> {
  const current = await client.query<{ active: boolean }>(
    `SELECT ${ACTIVE} AS active FROM user_segments us WHERE us.user_id = $1 AND us.segment_id = $2`,
    [userId, segmentId],
  );
  if (current.rows[0]?.active === true) {
    await dropPendingExpiries(client, 'us.user_id = $1 AND us.segment_id = $2', [userId, segmentId]);
    await client.query(
      `INSERT INTO segment_history (user_id, segment, operation, reason, at) VALUES ($1, $2, 'remove', 'manual', clock_timestamp())`,
      [userId, slug],
    );
  }
  await client.query('DELETE FROM user_segments WHERE user_id = $1 AND segment_id = $2', [userId, segmentId]);
  // An explicit removal is respected by the rollout: it will not give the segment back.
  await client.query(
    `INSERT INTO segment_optouts (user_id, segment_id)
     SELECT $1, id FROM segments WHERE id = $2 AND percent IS NOT NULL
     ON CONFLICT DO NOTHING`,
    [userId, segmentId],
  );
}
