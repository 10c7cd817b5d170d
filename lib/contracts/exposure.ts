import { z } from 'zod';
import { DEVICE_TOKEN, EXPERIMENT_KEY } from './experiment.js';
import { isIntIn, isUuid } from './fast-checks.js';
import { defineStream, field, type MessageOf } from './stream.js';
import { eventIdField, receivedAtField } from './stream-fields.js';

/**
 * Experiment exposures, declared once: the Kafka value of the exposures topic (contract
 * v1, architecture/contracts/exposure-v1.md, generated from here) and the
 * experiment_exposures table. The API builds the messages itself (api/src/experiments/
 * exposures.ts); no client sends them.
 */
export const exposureStream = defineStream({
  name: 'exposure',
  title: 'experiment exposure',
  version: 1,
  topicOption: 'KAFKA_TOPIC_EXPOSURES',
  key: "the device token: one device's exposures stay in one partition and in order",
  fields: {
    event_id: field({
      ...eventIdField,
      source: 'producer',
      meaning:
        'random per serve: every serve is its own exposure; replays of the message are dropped by the ETL like any event',
    }),
    device_id: field({
      schema: z.string().regex(DEVICE_TOKEN),
      fast: (v) => typeof v === 'string' && DEVICE_TOKEN.test(v),
      source: 'producer',
      column: { type: 'String' },
      docType: 'string, 8–128 of `A-Za-z0-9._~-`',
      meaning: 'the `Device-Token` header',
    }),
    viewer_id: field({
      schema: z.uuid().nullable(),
      fast: (v) => v === null || isUuid(v),
      source: 'producer',
      column: { type: 'Nullable(UUID)' },
      identifiesViewer: true,
      docType: 'UUID or `null`',
      meaning: "the viewer token's `sub` when the request carried a valid one",
    }),
    experiment: field({
      schema: z.string().regex(EXPERIMENT_KEY),
      fast: (v) => typeof v === 'string' && EXPERIMENT_KEY.test(v),
      source: 'producer',
      column: { type: 'LowCardinality(String)' },
      docType: `string, \`${EXPERIMENT_KEY.source}\``,
      meaning: 'experiment key',
    }),
    option_index: field({
      schema: z.int().min(0).max(255),
      fast: (v) => isIntIn(v, 0, 255),
      source: 'producer',
      column: { type: 'UInt8' },
      docType: 'integer 0…255',
      meaning: 'position of the option served',
    }),
    value: field({
      schema: z.string().max(1024),
      fast: (v) => typeof v === 'string' && v.length <= 1024,
      source: 'producer',
      column: { type: 'String', comment: 'JSON of the value served' },
      docType: 'string ≤ 1024',
      meaning: 'JSON of the value served (`"\\"#FF0000\\""`, `"10"`)',
    }),
    received_at: receivedAtField('API clock when served', 'producer'),
  },
  table: {
    name: 'experiment_exposures',
    createdBy: 3,
    orderBy: ['experiment', 'option_index', 'device_id', 'received_at'],
    monthOf: 'received_at',
    shardBy: 'cityHash64(device_id)',
    doc: "one row per experiment value served to a device (and the viewer, when the request carried a viewer token). Ordered for per-experiment analysis; the stats page joins viewers' first exposure per experiment with `progress_latest` for watch completion.",
  },
  notes: [
    'The assignment of record is the PostgreSQL `assignments` row, written before the answer; exposures are the analytics stream about it (ADR 0006: sent without holding the answer; failures counted in `experiment_exposures_total{result="failed"}`).',
  ],
  example: {
    schema_version: 1,
    event_id: '9a8b7c6d-5e4f-4a3b-8c2d-1e0f9a8b7c6d',
    device_id: 'dev-4Xk9qP2m',
    viewer_id: null,
    experiment: 'price',
    option_index: 1,
    value: '10',
    received_at: '2026-11-22T10:37:54.512Z',
  },
});

export const EXPOSURE_SCHEMA_VERSION = exposureStream.version;
/** Kafka value of the exposures topic (key = device token): one per value served. */
export const ExposureMessageV1 = exposureStream.message;
export type ExposureMessage = MessageOf<typeof exposureStream.version, typeof exposureStream.fields>;
