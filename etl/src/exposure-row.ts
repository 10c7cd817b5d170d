import { ExposureMessageV1 } from '../../lib/contracts/experiment.js';
import { isoToClickHouse } from '../../lib/contracts/time.js';
import type { Decoded } from './batch-builder.js';
import { decodeContract } from '../../lib/kafka/decode-contract.js';

/** One row of experiment_exposures: the contract-v1 message plus its Kafka coordinates. */
export interface ExposureRow {
  event_id: string;
  device_id: string;
  viewer_id: string | null;
  experiment: string;
  option_index: number;
  value: string;
  received_at: string;
  schema_version: number;
  kafka_partition: number;
  kafka_offset: string;
}

export function decodeExposure(
  value: Buffer | null,
  partition: number,
  offset: string,
): Decoded<ExposureRow> {
  const decoded = decodeContract(value, ExposureMessageV1);
  if (!decoded.ok) return decoded;
  const m = decoded.message;
  return {
    ok: true,
    id: m.event_id,
    splitKey: m.received_at.slice(0, 7),
    row: {
      event_id: m.event_id,
      device_id: m.device_id,
      viewer_id: m.viewer_id,
      experiment: m.experiment,
      option_index: m.option_index,
      value: m.value,
      received_at: isoToClickHouse(m.received_at),
      schema_version: m.schema_version,
      kafka_partition: partition,
      kafka_offset: offset,
    },
  };
}
