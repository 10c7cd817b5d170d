import type { ClickHouseClient } from '@clickhouse/client';
import { z } from 'zod';
import { inSpan } from '../../../lib/apm/tracing.js';
import { deadLetterRows } from '../../../lib/contracts/dead-letter.js';
import type { AnyStream } from '../../../lib/contracts/stream.js';
import { AppError, UnavailableError } from '../../../lib/errors.js';
import type { Coordinates, TailQuery } from './kafka-tail.js';

const EventId = z.uuid();
const Time = z.iso.datetime();
/** GET /api/v1/events/{event_id}/status: where the event is, the first answer that holds. */
export const EventStatusBody = z.discriminatedUnion('status', [
  z.strictObject({
    event_id: EventId,
    status: z.literal('stored'),
    table: z.string(),
    stored_at: Time,
    lag_ms: z.int(),
  }),
  z.strictObject({
    event_id: EventId,
    status: z.literal('dead_lettered'),
    stage: z.string(),
    reason: z.string(),
    failed_at: Time,
  }),
  z.strictObject({
    event_id: EventId,
    status: z.literal('accepted'),
    topic: z.string(),
    partition: z.int(),
    offset: z.string(),
  }),
  z.strictObject({ event_id: EventId, status: z.literal('unknown') }),
]);
export type EventStatus = z.output<typeof EventStatusBody>;

/** The answer, or a rejection once `ms` have passed (a broker that hangs must not hold the request). */
async function withinMs<T>(work: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A stream whose events viewers send, its topic and the ETL group that stores it. */
export interface StatusSource {
  stream: AnyStream;
  topic: string;
  groupId: string;
}

export interface EventStatusDeps {
  clickhouse: ClickHouseClient;
  database: string;
  sources: readonly StatusSource[];
  tail: { find(q: TailQuery): Promise<Coordinates | undefined> };
  timeoutMs: number;
}

interface StoredRow {
  table: string;
  stored_ms: string;
  received_ms: string;
}
interface LetterRow {
  stage: string;
  reason: string;
  failed_ms: string;
}

/**
 * Answers where one event is: stored (in its stream's table), dead-lettered (in
 * `dead_letters`), accepted (in Kafka past the ETL's committed offset), or unknown. With a
 * viewer, only that viewer's events are found: someone else's id answers `unknown`, as an
 * id never sent does. Every check is read again after the Kafka search, so an event the
 * ETL stored meanwhile is not missed between the two. Any dependency failure, or no answer
 * within `timeoutMs` (API_READ_TIMEOUT_MS) for the whole lookup, is a 503.
 */
export class EventStatusService {
  constructor(private readonly deps: EventStatusDeps) {}

  async status(eventId: string, viewer: string | undefined): Promise<EventStatus> {
    try {
      return await inSpan('event status', 'db', 'clickhouse', 'query', () =>
        withinMs(this.lookup(eventId, viewer), this.deps.timeoutMs),
      );
    } catch (err) {
      if (err instanceof AppError) throw err;
      throw new UnavailableError('event store unavailable, retry later', {
        cause: err,
        retryAfterSec: 1,
        code: 'event_store_unavailable',
      });
    }
  }

  private async lookup(eventId: string, viewer: string | undefined): Promise<EventStatus> {
    const first = await this.inClickHouse(eventId, viewer);
    if (first !== undefined) return first;
    for (const s of this.deps.sources) {
      const at = await this.deps.tail.find({
        topic: s.topic,
        groupId: s.groupId,
        eventId,
        ...(viewer === undefined ? {} : { key: viewer }),
      });
      if (at !== undefined)
        return {
          event_id: eventId,
          status: 'accepted',
          topic: at.topic,
          partition: at.partition,
          offset: at.offset,
        };
    }
    return (await this.inClickHouse(eventId, viewer)) ?? { event_id: eventId, status: 'unknown' };
  }

  private async inClickHouse(eventId: string, viewer: string | undefined): Promise<EventStatus | undefined> {
    const db = this.deps.database;
    const byViewer = viewer === undefined ? '' : ' AND viewer_id = {viewer:UUID}';
    const params = { id: eventId, ...(viewer === undefined ? {} : { viewer }) };
    const stored = await this.rows<StoredRow>(
      this.deps.sources
        .map(
          ({ stream }) =>
            `SELECT '${stream.table!.name}' AS table, toUnixTimestamp64Milli(min(inserted_at)) AS stored_ms,
                    toUnixTimestamp64Milli(min(received_at)) AS received_ms
               FROM ${db}.${stream.table!.name}
              WHERE event_id = {id:UUID}${byViewer} HAVING count() > 0`,
        )
        .join(' UNION ALL '),
      params,
    );
    const row = stored[0];
    if (row !== undefined) {
      const at = Number(row.stored_ms);
      return {
        event_id: eventId,
        status: 'stored',
        table: row.table,
        stored_at: new Date(at).toISOString(),
        lag_ms: Math.max(0, at - Number(row.received_ms)),
      };
    }
    const letters = await this.rows<LetterRow>(
      `SELECT stage, reason, toUnixTimestamp64Milli(failed_at) AS failed_ms
         FROM ${db}.${deadLetterRows.table!.name}
        WHERE event_id = {id:UUID}${byViewer}
        ORDER BY failed_at DESC LIMIT 1`,
      params,
    );
    const letter = letters[0];
    if (letter === undefined) return undefined;
    return {
      event_id: eventId,
      status: 'dead_lettered',
      stage: letter.stage,
      reason: letter.reason,
      failed_at: new Date(Number(letter.failed_ms)).toISOString(),
    };
  }

  private async rows<T>(query: string, params: Record<string, string>): Promise<T[]> {
    const rs = await this.deps.clickhouse.query({
      query,
      query_params: params,
      format: 'JSONEachRow',
      abort_signal: AbortSignal.timeout(this.deps.timeoutMs),
    });
    return rs.json<T>();
  }
}
