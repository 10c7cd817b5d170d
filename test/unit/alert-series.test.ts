import { expect } from 'chai';
import { ExposureEmitter } from '../../api/src/experiments/exposures.js';
import { UsersReplica } from '../../api/src/segments/users-replica.js';
import { createKafka } from '../../lib/kafka/client.js';
import { DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics, type Metrics } from '../../lib/metrics/registry.js';

/**
 * Alerts on increase() see a loss only when the series already existed: a process that
 * loses its first exposure or letters its first change must have exported it at 0.
 */
describe('series the loss alerts read exist from the start', () => {
  const log = createLogger({ level: 'silent', pretty: false, name: 'test' });
  const value = async (metrics: Metrics, name: string, labels: Record<string, string>) => {
    const { values } = await metrics.registry.getSingleMetric(name)!.get();
    return values.find((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))?.value;
  };

  it('experiment_exposures_total{result="failed"} (ExposuresLost)', async () => {
    const metrics = createMetrics();
    new ExposureEmitter({ publish: () => Promise.resolve(), isReady: () => true }, 'exposures', metrics, log);
    expect(await value(metrics, 'experiment_exposures_total', { result: 'failed' })).to.equal(0);
  });

  it('users_replica_changes_total{result="dead_letter"} (UsersReplicaDeadLetters)', async () => {
    const metrics = createMetrics();
    const kafka = createKafka(
      {
        brokers: ['127.0.0.1:1'],
        clientId: 'test',
        connectTimeoutMs: 100,
        security: { tls: undefined, sasl: undefined },
      },
      log,
    );
    new UsersReplica(
      {
        kafka,
        users: { apply: () => Promise.reject(new Error('not called')) },
        deadLetters: new DeadLetterPublisher(kafka, 'dead-letters', 'test'),
        log,
        metrics,
      },
      {
        topic: 'users',
        groupId: 'users-replica',
        partitionsConcurrency: 1,
        sessionTimeoutMs: 30_000,
        retryInitialMs: 10,
        retryMaxMs: 100,
        commitEvery: 100,
      },
    );
    expect(await value(metrics, 'users_replica_changes_total', { result: 'dead_letter' })).to.equal(0);
  });
});
