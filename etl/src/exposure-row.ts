import { ExposureMessageV1 } from '../../lib/contracts/experiment.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';
import { kafkaRowLine } from './row-line.js';

/** A validated exposure message, passed through as its experiment_exposures row. */
export function decodeExposure(value: Buffer | null, partition: number, offset: string): Decoded<Buffer> {
  const decoded = decodeContract(value, ExposureMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    splitKey: m.received_at.slice(0, 7),
    row: kafkaRowLine(value!, m, partition, offset),
  };
}
