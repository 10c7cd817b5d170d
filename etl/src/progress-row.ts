import { ProgressMessageV1 } from '../../lib/contracts/progress.js';
import { isoToClickHouse } from '../../lib/contracts/time.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';

/** One row of progress_events: the contract-v1 message plus its Kafka coordinates. */
export interface ProgressRow {
  event_id: string;
  viewer_id: string;
  film_id: string;
  position_sec: number;
  duration_sec: number;
  occurred_at: string;
  received_at: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: string;
}

export type DecodeResult = Decoded<ProgressRow>;

/**
 * Decodes and re-validates a Kafka value against the contract. The API validated it
 * already, but the topic is a public interface: anything may have been written to it.
 */
export function decodeProgress(value: Buffer | null, partition: number, offset: string): DecodeResult {
  const decoded = decodeContract(value, ProgressMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    // Table partition (PARTITION BY toYYYYMM(received_at)): one block, one part.
    splitKey: m.received_at.slice(0, 7),
    row: {
      event_id: m.event_id,
      viewer_id: m.viewer_id,
      film_id: m.film_id,
      position_sec: m.position_sec,
      duration_sec: m.duration_sec,
      occurred_at: isoToClickHouse(m.occurred_at),
      received_at: isoToClickHouse(m.received_at),
      schema_version: m.schema_version,
      kafka_partition: partition,
      kafka_offset: offset,
    },
  };
}
