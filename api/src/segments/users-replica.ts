import type { Consumer, EachBatchPayload, Kafka, KafkaMessage } from 'kafkajs';
import { UserChange } from '../../../lib/contracts/user-change.js';
import { isRetriable } from '../../../lib/errors.js';
import type { DeadLetter, DeadLetterPublisher } from '../../../lib/kafka/dead-letters.js';
import { decodeContract } from '../../../lib/kafka/decode-contract.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { Logger } from '../../../lib/log.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
import { backoffDelay, sleep } from '../../../lib/retry.js';
import type { ApplyResult, UserEvent } from './user-store.js';

export interface UsersReplicaOptions {
  topic: string;
  groupId: string;
  partitionsConcurrency: number;
  sessionTimeoutMs: number;
  retryInitialMs: number;
  retryMaxMs: number;
  /** Offsets are committed after this many messages (and at the end of every batch). */
  commitEvery: number;
}

export interface UsersReplicaDeps {
  kafka: Kafka;
  users: { apply(event: UserEvent): Promise<ApplyResult> };
  deadLetters: DeadLetterPublisher;
  log: Logger;
  metrics: Metrics;
}

/**
 * Keeps the local users table current from the users topic (contract user-change v1).
 *
 * At least once into PostgreSQL, which is enough: a change is applied only when its
 * version is newer than the stored one, so a replay after a crash, a duplicate or an
 * out-of-order delivery changes nothing. Offsets are committed only past applied (or
 * dead-lettered) messages. PostgreSQL down: the partition waits and retries with backoff,
 * heartbeating, and commits nothing past the change it could not apply. A message that is
 * not the contract, or that PostgreSQL refuses for good, goes to the dead-letter topic in
 * the same Kafka transaction as the commit past it, so it never blocks its partition.
 *
 * It runs in the API process: one consumer group across API replicas, so each change is
 * applied by one of them; the replica is read by every API through PostgreSQL.
 */
export class UsersReplica implements Service {
  readonly name = 'users-replica';
  readonly stats = { applied: 0, stale: 0, deadLettered: 0, transientFailures: 0 };
  private readonly consumer: Consumer;
  private readonly stopping = new AbortController();
  private readonly log: Logger;

  constructor(
    private readonly deps: UsersReplicaDeps,
    private readonly opts: UsersReplicaOptions,
  ) {
    this.log = deps.log.child({ module: 'users-replica', topic: opts.topic });
    this.consumer = deps.kafka.consumer({
      groupId: opts.groupId,
      sessionTimeout: opts.sessionTimeoutMs,
      heartbeatInterval: Math.max(500, Math.floor(opts.sessionTimeoutMs / 10)),
      retry: { retries: Number.MAX_SAFE_INTEGER, initialRetryTime: 300, maxRetryTime: 10000 },
    });
  }

  async start(): Promise<void> {
    await this.deps.deadLetters.start();
    await this.consumer.connect();
    // From the beginning: a new deployment rebuilds the whole replica from the topic.
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConcurrency,
      eachBatch: (payload) => this.handleBatch(payload),
    });
    this.log.info({ group_id: this.opts.groupId }, 'users_replica_started');
  }

  async stop(): Promise<void> {
    this.stopping.abort();
    await this.consumer.disconnect();
    await this.deps.deadLetters.stop();
  }

  private async handleBatch(payload: EachBatchPayload): Promise<void> {
    const { batch } = payload;
    const log = this.log.child({ partition: batch.partition });
    let letters: DeadLetter[] = [];
    let last: string | undefined;
    let sinceCommit = 0;
    for (const message of batch.messages) {
      if (!this.active(payload)) break;
      const letter = await this.applyOne(message, batch.topic, batch.partition, payload, log);
      if (letter === 'stopped') break;
      if (letter !== null) letters.push(letter);
      last = message.offset;
      payload.resolveOffset(message.offset);
      if (++sinceCommit >= this.opts.commitEvery) {
        if (!(await this.commit(payload, log, letters, last))) return;
        letters = [];
        sinceCommit = 0;
        await payload.heartbeat();
      }
    }
    if (sinceCommit > 0 && last !== undefined) await this.commit(payload, log, letters, last);
    const lag = Number(BigInt(batch.highWatermark) - BigInt(last ?? batch.lastOffset()) - 1n);
    this.deps.metrics.usersReplicaLag.set({ partition: String(batch.partition) }, Math.max(0, lag));
  }

  /** Applies one message; returns its dead letter, null when applied, or 'stopped'. */
  private async applyOne(
    message: KafkaMessage,
    topic: string,
    partition: number,
    payload: EachBatchPayload,
    log: Logger,
  ): Promise<DeadLetter | null | 'stopped'> {
    const letter = (stage: DeadLetter['stage'], reason: string): DeadLetter => ({
      sourceTopic: topic,
      partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      reason,
      stage,
    });
    const decoded = decodeContract(message.value, UserChange);
    if (!decoded.ok) return letter('decode', decoded.reason);
    const change = decoded.message;
    for (let attempt = 0; ; attempt++) {
      try {
        const result = await this.deps.users.apply(change);
        this.stats[result] += 1;
        this.deps.metrics.usersReplicaChanges.inc({ result });
        return null;
      } catch (err) {
        if (!isRetriable(err)) {
          log.error({ err, offset: message.offset, user_id: change.user_id }, 'users_replica_apply_rejected');
          return letter('apply', (err as Error).message ?? String(err));
        }
        this.stats.transientFailures += 1;
        const delay = backoffDelay(attempt, {
          initialMs: this.opts.retryInitialMs,
          maxMs: this.opts.retryMaxMs,
        });
        log.warn({ err, offset: message.offset, attempt, retry_in_ms: delay }, 'users_replica_apply_failed');
        await sleep(delay, this.stopping.signal);
        if (!this.active(payload)) return 'stopped';
        await payload.heartbeat().catch(() => undefined);
      }
    }
  }

  /** Commits past `last`; with letters, in one transaction with them. False if stopped. */
  private async commit(
    payload: EachBatchPayload,
    log: Logger,
    letters: DeadLetter[],
    last: string,
  ): Promise<boolean> {
    const commit = {
      groupId: this.opts.groupId,
      topic: payload.batch.topic,
      partition: payload.batch.partition,
      offset: (BigInt(last) + 1n).toString(),
    };
    for (let attempt = 0; ; attempt++) {
      try {
        if (letters.length > 0) {
          await this.deps.deadLetters.publishAndCommit(letters, commit);
          this.stats.deadLettered += letters.length;
          this.deps.metrics.usersReplicaChanges.inc({ result: 'dead_letter' }, letters.length);
          for (const l of letters)
            log.warn({ offset: l.offset, stage: l.stage, reason: l.reason }, 'users_replica_dead_letter');
        } else {
          await this.consumer.commitOffsets([commit]);
        }
        return true;
      } catch (err) {
        const delay = backoffDelay(attempt, {
          initialMs: this.opts.retryInitialMs,
          maxMs: this.opts.retryMaxMs,
        });
        log.warn({ err, attempt, retry_in_ms: delay }, 'users_replica_commit_failed');
        await sleep(delay, this.stopping.signal);
        if (!this.active(payload)) return false;
      }
    }
  }

  private active(payload: EachBatchPayload): boolean {
    return payload.isRunning() && !payload.isStale() && !this.stopping.signal.aborted;
  }
}
