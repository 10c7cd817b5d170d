import { isProgressMessageV1, ProgressMessageV1 } from '../../lib/contracts/progress.js';
import { kafkaRowLine } from './row-line.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';

export type DecodeResult = Decoded<Buffer>;

/**
 * Decodes and re-validates a Kafka value against the contract (the API validated it
 * already, but the topic is a public interface: anything may have been written to it),
 * then passes its bytes through as the progress_events row (row-line.ts).
 */
export function decodeProgress(value: Buffer | null, partition: number, offset: string): DecodeResult {
  const decoded = decodeContract(value, ProgressMessageV1, isProgressMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    // Table partition (PARTITION BY toYYYYMM(received_at)): one block, one part.
    splitKey: m.received_at.slice(0, 7),
    row: kafkaRowLine(value!, m, partition, offset),
  };
}
