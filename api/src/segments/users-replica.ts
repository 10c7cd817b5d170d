import type { Kafka, KafkaMessage } from 'kafkajs';
import { UserChange } from '../../../lib/contracts/user-change.js';
import { isRetriable } from '../../../lib/errors.js';
import type { DeadLetter, DeadLetterPublisher } from '../../../lib/kafka/dead-letters.js';
import { decodeContract } from '../../../lib/kafka/decode-contract.js';
import {
  PartitionConsumer,
  type HeldPartition,
  type Outcome,
} from '../../../lib/kafka/partition-consumer.js';
import type { Service } from '../../../lib/lifecycle.js';
import type { Logger } from '../../../lib/log.js';
import type { Metrics } from '../../../lib/metrics/registry.js';
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
 * dead-lettered) messages. PostgreSQL down: the partition is held and the change retried
 * (PartitionConsumer); nothing is committed past the change it could not apply. A message that is
 * not the contract, or that PostgreSQL refuses for good, goes to the dead-letter topic in
 * the same Kafka transaction as the commit past it, so it never blocks its partition.
 *
 * It runs in the API process: one consumer group across API replicas, so each change is
 * applied by one of them; the replica is read by every API through PostgreSQL.
 */
export class UsersReplica implements Service {
  readonly name = 'users-replica';
  readonly stats = { applied: 0, stale: 0, deadLettered: 0, transientFailures: 0 };
  private readonly partitions: PartitionConsumer;
  private readonly log: Logger;

  constructor(
    private readonly deps: UsersReplicaDeps,
    private readonly opts: UsersReplicaOptions,
  ) {
    this.log = deps.log.child({ module: 'users-replica', topic: opts.topic });
    // From the start, so UsersReplicaDeadLetters' increase() sees the first letter.
    deps.metrics.usersReplicaChanges.inc({ result: 'dead_letter' }, 0);
    this.partitions = new PartitionConsumer(
      {
        kafka: deps.kafka,
        log: this.log,
        deadLetters: deps.deadLetters,
        onRetry: () => (this.stats.transientFailures += 1),
      },
      {
        topic: opts.topic,
        groupId: opts.groupId,
        sessionTimeoutMs: opts.sessionTimeoutMs,
        partitionsConcurrency: opts.partitionsConcurrency,
        retry: { initialMs: opts.retryInitialMs, maxMs: opts.retryMaxMs },
      },
    );
  }

  async start(): Promise<void> {
    await this.deps.deadLetters.start();
    await this.partitions.start((held) => this.handleBatch(held));
    this.log.info({ group_id: this.opts.groupId }, 'users_replica_started');
  }

  async stop(): Promise<void> {
    await this.partitions.stop();
    await this.deps.deadLetters.stop();
  }

  private async handleBatch(held: HeldPartition): Promise<void> {
    const { batch } = held;
    // The backlog as the batch arrives: a change that cannot be applied (PostgreSQL down)
    // holds the batch in its retries, and its end, where the lag is set again, never comes.
    const first = batch.messages[0]?.offset;
    if (first !== undefined) this.setLag(held, BigInt(first));
    let letters: DeadLetter[] = [];
    let last: string | undefined;
    let sinceCommit = 0;
    for (const message of batch.messages) {
      if (!held.active()) break;
      const letter = await this.applyOne(message, held);
      if (letter === 'stopped') break;
      if (letter !== null) letters.push(letter);
      last = message.offset;
      held.payload.resolveOffset(message.offset);
      if (++sinceCommit >= this.opts.commitEvery) {
        if (!(await this.commit(held, letters, last))) return;
        letters = [];
        sinceCommit = 0;
        await held.heartbeat();
      }
    }
    if (sinceCommit > 0 && last !== undefined) await this.commit(held, letters, last);
    this.setLag(held, BigInt(last ?? batch.lastOffset()) + 1n);
  }

  /** Changes from `next` (the next offset to apply) to the batch's high-water mark. */
  private setLag(held: HeldPartition, next: bigint): void {
    const behind = Number(BigInt(held.batch.highWatermark) - next);
    this.deps.metrics.usersReplicaLag.set({ partition: String(held.batch.partition) }, Math.max(0, behind));
  }

  /** Applies one message; returns its dead letter, null when applied, or 'stopped'. */
  private async applyOne(message: KafkaMessage, held: HeldPartition): Promise<DeadLetter | null | 'stopped'> {
    const letter = (stage: DeadLetter['stage'], reason: string): DeadLetter => ({
      sourceTopic: held.batch.topic,
      partition: held.batch.partition,
      offset: message.offset,
      key: message.key,
      value: message.value,
      reason,
      stage,
    });
    const decoded = decodeContract(message.value, UserChange);
    if (!decoded.ok) return letter('decode', decoded.reason);
    const change = decoded.message;
    let applied: Outcome<ApplyResult>;
    try {
      applied = await held.retry('users_replica_apply', () => this.deps.users.apply(change), {
        context: { offset: message.offset },
        retriable: isRetriable,
      });
    } catch (err) {
      held.log.error(
        { err, offset: message.offset, user_id: change.user_id },
        'users_replica_apply_rejected',
      );
      return letter('apply', (err as Error).message ?? String(err));
    }
    if (!applied.done) return 'stopped';
    this.stats[applied.value] += 1;
    this.deps.metrics.usersReplicaChanges.inc({ result: applied.value });
    return null;
  }

  /** Commits past `last`; with letters, in one transaction with them. False if stopped. */
  private async commit(held: HeldPartition, letters: DeadLetter[], last: string): Promise<boolean> {
    const committed = await held.retry('users_replica_commit', () => held.commit(last, letters));
    if (!committed.done) return false;
    if (letters.length > 0) {
      this.stats.deadLettered += letters.length;
      this.deps.metrics.usersReplicaChanges.inc({ result: 'dead_letter' }, letters.length);
      for (const l of letters)
        held.log.warn({ offset: l.offset, stage: l.stage, reason: l.reason }, 'users_replica_dead_letter');
    }
    return true;
  }
}
