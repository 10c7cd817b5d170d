import { LINEAGE } from '../../lib/clickhouse/stream-table.js';
import { deadLetterRows } from '../../lib/contracts/dead-letter.js';
import { isUuidShape } from '../../lib/contracts/fast-checks.js';
import type { DeadLetter } from '../../lib/kafka/dead-letters.js';
import { objectRowLine } from './row-line.js';

/** What a letter says about whom: read from its value when that is a JSON object, else its key. */
export interface LetterIds {
  eventId: string | null;
  viewerId: string | null;
}

function parsedObject(value: Buffer | null): Record<string, unknown> | undefined {
  if (value === null || value.length === 0 || value[0] !== 0x7b) return undefined;
  try {
    const v: unknown = JSON.parse(value.toString('utf8'));
    return v !== null && typeof v === 'object' && !Array.isArray(v)
      ? (v as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}

export function letterIds(letter: Pick<DeadLetter, 'key' | 'value'>): LetterIds {
  const m = parsedObject(letter.value) ?? {};
  const key = letter.key?.toString('utf8');
  const { event_id: event, viewer_id: viewer } = m;
  const eventId = isUuidShape(event) ? event.toLowerCase() : null;
  const viewerId = isUuidShape(viewer) ? viewer.toLowerCase() : isUuidShape(key) ? key.toLowerCase() : null;
  return { eventId, viewerId };
}

/** A dead letter as one JSONEachRow line of `dead_letters` (lib/contracts/dead-letter.ts). */
export function deadLetterRow(letter: DeadLetter, failedAt: Date): Buffer {
  const { eventId, viewerId } = letterIds(letter);
  return objectRowLine({
    event_id: eventId,
    viewer_id: viewerId,
    source_topic: letter.sourceTopic,
    stage: letter.stage,
    reason: letter.reason.slice(0, 2000),
    failed_at: failedAt.toISOString(),
    message_key: letter.key?.toString('utf8') ?? null,
    message_value: letter.value?.toString('utf8') ?? null,
    schema_version: deadLetterRows.version,
    [LINEAGE.partition]: letter.partition,
    [LINEAGE.offset]: letter.offset,
  });
}
