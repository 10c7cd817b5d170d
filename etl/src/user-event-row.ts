import { UserEventMessageV1 } from '../../lib/contracts/user-event.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';
import { objectRowLine } from './row-line.js';

/**
 * One row of user_events: the contract-v1 message plus its Kafka coordinates. Not a
 * pass-through: `properties` is an object in the message and a JSON string in the table.
 */
export interface UserEventRow {
  event_id: string;
  viewer_id: string;
  event_type: string;
  occurred_at: string;
  received_at: string;
  properties: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: string;
}

export function decodeUserEvent(value: Buffer | null, partition: number, offset: string): Decoded<Buffer> {
  const decoded = decodeContract(value, UserEventMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    splitKey: m.received_at.slice(0, 7),
    row: objectRowLine({
      event_id: m.event_id,
      viewer_id: m.viewer_id,
      event_type: m.event_type,
      occurred_at: m.occurred_at,
      received_at: m.received_at,
      properties: JSON.stringify(m.properties),
      schema_version: m.schema_version,
      kafka_partition: partition,
      kafka_offset: offset,
    } satisfies UserEventRow),
  };
}
