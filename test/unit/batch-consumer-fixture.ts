import { expect } from 'chai';
import type { EachBatchPayload, Kafka } from 'kafkajs';
import { BatchConsumer, type BatchConsumerOptions } from '../../etl/src/batch-consumer.js';
import type { Decoder } from '../../etl/src/batch-builder.js';
import type { ClickHouseSink } from '../../etl/src/clickhouse-sink.js';
import { PartitionWindows } from '../../etl/src/dedup/partition-windows.js';
import type { ErasedViewers } from '../../etl/src/erased-viewers.js';
import type { DeadLetter, DeadLetterPublisher, OffsetCommit } from '../../lib/kafka/dead-letters.js';
import type { Logger } from '../../lib/log.js';
import { createMetrics, type Metrics } from '../../lib/metrics/registry.js';

/**
 * The ETL's BatchConsumer on fakes, for the unit tests of batch-consumer*.test.ts: a fake
 * kafkajs consumer records every offset commit, a fake ClickHouse sink answers each insert
 * as the test scripts it (by default it holds the insert until the test lets it finish or
 * fail), a fake ClickHouse table answers the dedup window's queries from what was stored.
 *
 * A message's value is `name@offset` (the row ClickHouse gets, its event id idOf(name));
 * `name!@offset` decodes but is rejected by ClickHouse as bad data; anything else does not
 * decode.
 */

export const TOPIC = 'progress';
export const PARTITION = 4;
export const GROUP = 'etl-test';
export const TABLE = 'progress_events';

/** The event id (a UUID, as the dedup window needs) a message's name stands for. */
export function idOf(name: string): string {
  return `00000000-0000-4000-8000-${Buffer.from(name).toString('hex').padStart(12, '0')}`;
}

/** The viewer of a message (its key, and its row's viewer): one per name. */
export function viewerOf(name: string): string {
  return `11111111-0000-4000-8000-${Buffer.from(name).toString('hex').padStart(12, '0')}`;
}

/** One entry per thing that happened, in order: the tests read the sequence. */
export type Step =
  | { kind: 'insert-started'; rows: string[]; token: string }
  | { kind: 'insert-resolved'; rows: string[] }
  | { kind: 'insert-rejected'; rows: string[] }
  | { kind: 'commit'; offsets: { topic: string; partition: number; offset: string }[] }
  | { kind: 'letters-and-commit'; letters: string[]; commit: OffsetCommit }
  | { kind: 'resolve-offset'; offset: string }
  | { kind: 'heartbeat' }
  | { kind: 'window-load'; partition: number }
  | { kind: 'stored-in-range'; partition: number; first: string; last: string }
  | { kind: 'letters-stored'; token: string; offsets: string[]; stages: string[] };

export interface PendingInsert {
  rows: string[];
  resolve(): void;
  reject(err: Error): void;
}

/**
 * What the fake ClickHouse does with one insert: hold it for the test; store the rows and
 * answer ok; answer ok but store nothing (a dedup token kept without its part); or fail,
 * having stored the rows first or not (an ambiguous failure).
 */
export type InsertAnswer = 'hold' | 'ok' | 'lost' | { fail: Error; stored?: string[] };

/** A ClickHouse error for data it can never accept (CANNOT_PARSE_INPUT_ASSERTION_FAILED). */
export function badData(message: string): Error {
  return Object.assign(new Error(message), { code: '27' });
}

export interface LogLine {
  level: string;
  fields: Record<string, unknown>;
  msg: string;
}

export interface FixtureOptions {
  consumer?: Partial<BatchConsumerOptions>;
  /** Store dead letters as rows too (deps.letterSink). */
  letterRows?: boolean;
  /** Read a suppression list of erased viewers (deps.erased), by name (see viewerOf). */
  erased?: string[];
  /** Answer to the nth insert (1-based); default: hold, and reject rows marked `!` as bad data. */
  insert?: (rows: string[], token: string, n: number) => InsertAnswer;
}

export class Fixture {
  readonly steps: Step[] = [];
  readonly pending: PendingInsert[] = [];
  readonly lines: LogLine[] = [];
  /** Rows the fake ClickHouse table holds: name (see idOf) by offset. */
  readonly stored = new Map<string, string>();
  /** Names of the ids the table reports on a window rebuild (newest first). */
  seenOnLoad: string[] = [];
  running = true;
  stale = false;
  /** Failures still to come from the next window loads / dead-letter publishes. */
  windowLoadFailures = 0;
  publishFailures = 0;
  letterStoreFailures = 0;
  erasedLoadFailures = 0;
  storedInRangeFailures = 0;
  /** Called after each offset commit (e.g. to take the partition away). */
  onCommit: () => void = () => undefined;
  consumerConfig: Record<string, unknown> = {};
  disconnected = false;
  readonly metrics: Metrics = createMetrics();
  readonly windows: PartitionWindows;
  readonly consumer: BatchConsumer;
  private eachBatch: ((p: EachBatchPayload) => Promise<void>) | undefined;
  private readonly handlers = new Map<string, (e: { payload: { memberAssignment: unknown } }) => void>();
  private inserts = 0;

  constructor(options: FixtureOptions = {}) {
    const steps = this.steps;
    const fakeConsumer = {
      events: { GROUP_JOIN: 'consumer.group_join' },
      on: (event: string, handler: (e: { payload: { memberAssignment: unknown } }) => void) => {
        this.handlers.set(event, handler);
        return () => undefined;
      },
      connect: async () => undefined,
      subscribe: async () => undefined,
      disconnect: async () => {
        this.disconnected = true;
      },
      run: async (config: { eachBatch: (p: EachBatchPayload) => Promise<void> }) => {
        this.eachBatch = config.eachBatch;
      },
      commitOffsets: async (offsets: { topic: string; partition: number; offset: string }[]) => {
        steps.push({ kind: 'commit', offsets: offsets.map((o) => ({ ...o })) });
        this.onCommit();
      },
    };
    const kafka = {
      consumer: (config: Record<string, unknown>) => {
        this.consumerConfig = config;
        return fakeConsumer;
      },
    } as unknown as Kafka;
    const answer = options.insert ?? (() => 'hold');
    const sink = {
      insert: async (lines: readonly Buffer[], token: string) => {
        const rows = lines.map((l) => l.toString());
        steps.push({ kind: 'insert-started', rows, token });
        const a = answer(rows, token, ++this.inserts);
        if (a === 'hold') return this.hold(rows);
        if (a === 'lost') return;
        if (a === 'ok') {
          const bad = rows.filter((r) => r.includes('!'));
          if (bad.length > 0) throw badData(`Cannot parse input: ${bad.join(',')}`);
          this.store(rows);
          return;
        }
        this.store(a.stored ?? []);
        throw a.fail;
      },
    } as unknown as ClickHouseSink;
    const log = this.logger({ name: 'etl' });
    this.windows = new PartitionWindows(
      { maxIdsPerPartition: 1000, horizonMs: 60_000 },
      {
        load: async (partition) => {
          steps.push({ kind: 'window-load', partition });
          if (this.windowLoadFailures > 0) {
            this.windowLoadFailures -= 1;
            throw new Error('ClickHouse down');
          }
          return this.seenOnLoad.map(idOf);
        },
        storedInRange: async (partition, first, last) => {
          steps.push({ kind: 'stored-in-range', partition, first, last });
          if (this.storedInRangeFailures > 0) {
            this.storedInRangeFailures -= 1;
            throw new Error('ClickHouse down');
          }
          const ids = new Set<string>();
          for (const [offset, id] of this.stored)
            if (BigInt(offset) >= BigInt(first) && BigInt(offset) <= BigInt(last)) ids.add(idOf(id));
          return ids;
        },
      },
      log,
    );
    const deadLetters = {
      publishAndCommit: async (letters: DeadLetter[], commit: OffsetCommit) => {
        if (this.publishFailures > 0) {
          this.publishFailures -= 1;
          throw new Error('dead-letter topic unavailable');
        }
        steps.push({
          kind: 'letters-and-commit',
          letters: letters.map((l) => l.offset),
          commit: { ...commit },
        });
        this.onCommit();
      },
    } as unknown as DeadLetterPublisher;
    // As the ETL's batch decoder: a row names its viewer only when the consumer asks for
    // viewers (some viewer is erased).
    const decode =
      (viewers: boolean): Decoder<Buffer> =>
      (value) => {
        const text = value?.toString() ?? '';
        const m = /^([a-z0-9-]+)!?@\d+$/.exec(text);
        return m !== null
          ? {
              ok: true,
              row: Buffer.from(text),
              id: idOf(m[1]!),
              splitKey: 'month',
              viewer: viewers ? viewerOf(m[1]!) : undefined,
            }
          : { ok: false, reason: 'not a row' };
      };
    const letterSink = {
      insert: async (lines: readonly Buffer[], token: string) => {
        if (this.letterStoreFailures > 0) {
          this.letterStoreFailures -= 1;
          throw new Error('dead_letters insert failed');
        }
        const rows = lines.map((l) => JSON.parse(l.toString()) as Record<string, unknown>);
        steps.push({
          kind: 'letters-stored',
          token,
          offsets: rows.map((r) => String(r.kafka_offset)),
          stages: rows.map((r) => String(r.stage)),
        });
      },
    } as unknown as ClickHouseSink;
    const erasedNames = options.erased;
    const erased =
      erasedNames === undefined
        ? undefined
        : ({
            current: async () => {
              if (this.erasedLoadFailures > 0) {
                this.erasedLoadFailures -= 1;
                throw new Error('suppression list unavailable');
              }
              return new Set(erasedNames.map(viewerOf));
            },
          } as unknown as ErasedViewers);
    this.consumer = new BatchConsumer(
      {
        kafka,
        sink,
        decode: (_partition, _messages, viewers) => decode(viewers),
        windows: this.windows,
        deadLetters,
        log,
        metrics: this.metrics,
        table: TABLE,
        ...(options.letterRows === true ? { letterSink } : {}),
        ...(erased === undefined ? {} : { erased }),
      },
      {
        topic: TOPIC,
        groupId: GROUP,
        batchMaxRows: 100,
        batchMaxWaitMs: 100,
        fetchMinBytes: 1,
        fetchMaxBytesPerPartition: 1 << 20,
        partitionsConcurrency: 1,
        sessionTimeoutMs: 6000,
        retryInitialMs: 5,
        retryMaxMs: 10,
        ...options.consumer,
      },
    );
  }

  async start(): Promise<void> {
    await this.consumer.start();
  }

  /**
   * Hands the consumer one batch of messages at offsets first.. (values: ids, `id!` for a row
   * ClickHouse rejects, or garbage); the high-water mark defaults to just past the batch.
   */
  deliver(
    first: number,
    values: string[],
    opts: { highWatermark?: number; timestamps?: number[] } = {},
  ): Promise<void> {
    const messages = values.map((v, i) => ({
      offset: String(first + i),
      key: Buffer.from(viewerOf(v.replace(/[^a-z0-9]/g, ''))),
      value: Buffer.from(/^[a-z0-9-]+!?$/.test(v) ? `${v}@${first + i}` : v),
      timestamp: String(opts.timestamps?.[i] ?? 0),
      attributes: 0,
      headers: {},
    }));
    const payload = {
      batch: {
        topic: TOPIC,
        partition: PARTITION,
        highWatermark: String(opts.highWatermark ?? first + values.length),
        messages,
      },
      isRunning: () => this.running,
      isStale: () => this.stale,
      resolveOffset: (offset: string) => this.steps.push({ kind: 'resolve-offset', offset }),
      heartbeat: async () => {
        this.steps.push({ kind: 'heartbeat' });
      },
      commitOffsetsIfNecessary: async () => {
        throw new Error('the consumer commits explicitly, never through kafkajs auto-commit');
      },
    } as unknown as EachBatchPayload;
    return this.eachBatch!(payload);
  }

  /** What kafkajs tells the consumer after a rebalance: the partitions it now has. */
  rebalance(partitions: number[] = [PARTITION]): void {
    this.handlers.get('consumer.group_join')!({ payload: { memberAssignment: { [TOPIC]: partitions } } });
  }

  /** Resolves once the consumer is waiting on its nth insert (1-based). */
  async insertPending(n: number): Promise<PendingInsert> {
    // Polls on timers: a retried insert only starts after the consumer's backoff.
    for (let i = 0; i < 500 && this.pending.length < n; i++) await new Promise((r) => setTimeout(r, 2));
    expect(this.pending.length, `insert ${n} started`).to.be.at.least(n);
    return this.pending[n - 1]!;
  }

  commits(): Step[] {
    return this.steps.filter((s) => s.kind === 'commit' || s.kind === 'letters-and-commit');
  }

  of<K extends Step['kind']>(kind: K): Extract<Step, { kind: K }>[] {
    return this.steps.filter((s): s is Extract<Step, { kind: K }> => s.kind === kind);
  }

  /** The value of one series of a metric, 0 when the series does not exist. */
  async metric(name: string, labels: Record<string, string> = {}): Promise<number | undefined> {
    const { values } = await this.metrics.registry.getSingleMetric(name)!.get();
    const v = values.find((x) => Object.entries(labels).every(([k, want]) => String(x.labels[k]) === want));
    return v?.value;
  }

  /** Sum and count of a histogram's series with these labels. */
  async histogram(name: string, labels: Record<string, string>): Promise<{ sum: number; count: number }> {
    const { values } = await this.metrics.registry.getSingleMetric(name)!.get();
    const total = (suffix: string) =>
      values
        .filter((v) => (v as { metricName?: string }).metricName === `${name}_${suffix}`)
        .filter((v) => Object.entries(labels).every(([k, want]) => String(v.labels[k]) === want))
        .reduce((a, v) => a + v.value, 0);
    return { sum: total('sum'), count: total('count') };
  }

  /** Lets the event loop run a while (timers included), so a commit that would come, comes. */
  static async settle(ms = 50): Promise<void> {
    await new Promise((r) => setTimeout(r, ms));
  }

  private hold(rows: string[]): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.pending.push({
        rows,
        resolve: () => {
          this.store(rows);
          this.steps.push({ kind: 'insert-resolved', rows });
          resolve();
        },
        reject: (err) => {
          this.steps.push({ kind: 'insert-rejected', rows });
          reject(err);
        },
      });
    });
  }

  private store(rows: string[]): void {
    for (const r of rows) {
      const [id, offset] = r.split('@') as [string, string];
      this.stored.set(offset, id.replace('!', ''));
    }
  }

  /** Records every line with the bindings of the child logger it was written through. */
  private logger(bindings: Record<string, unknown> = {}): Logger {
    const lines = this.lines;
    const at =
      (level: string) =>
      (fields: Record<string, unknown>, msg: string): void => {
        lines.push({ level, fields: { ...bindings, ...fields }, msg });
      };
    return {
      child: (more: Record<string, unknown>) => this.logger({ ...bindings, ...more }),
      debug: at('debug'),
      info: at('info'),
      warn: at('warn'),
      error: at('error'),
    } as unknown as Logger;
  }
}
