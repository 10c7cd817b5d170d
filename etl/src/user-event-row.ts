import { UserEventMessageV1 } from '../../lib/contracts/user-event.js';
import { isoToClickHouse } from '../../lib/contracts/time.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';

/** One row of user_events: the contract-v1 message plus its Kafka coordinates. */
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

export function decodeUserEvent(
  value: Buffer | null,
  partition: number,
  offset: string,
): Decoded<UserEventRow> {
  const decoded = decodeContract(value, UserEventMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    splitKey: m.received_at.slice(0, 7),
    row: {
      event_id: m.event_id,
      viewer_id: m.viewer_id,
      event_type: m.event_type,
      occurred_at: isoToClickHouse(m.occurred_at),
      received_at: isoToClickHouse(m.received_at),
      properties: JSON.stringify(m.properties),
      schema_version: m.schema_version,
      kafka_partition: partition,
      kafka_offset: offset,
    },
  };
}
