import { expect } from 'chai';
import { Partitioners, type ProducerConfig } from 'kafkajs';
import { KafkajsTransport } from '../../api/src/ingest/kafkajs-transport.js';
import { createKafka, producerConfig } from '../../lib/kafka/client.js';
import { DeadLetterPublisher } from '../../lib/kafka/dead-letters.js';
import { createLogger } from '../../lib/log.js';

describe('kafkajs producers', () => {
  it("name the Java client's partitioner, so keyed messages land alike and kafkajs logs no warning about its default", () => {
    const kafka = createKafka(
      {
        brokers: ['127.0.0.1:1'],
        clientId: 'test',
        connectTimeoutMs: 100,
        security: { tls: undefined, sasl: undefined },
      },
      createLogger({ level: 'silent', pretty: false, name: 'test' }),
    );
    const asked: ProducerConfig[] = [];
    const producer = kafka.producer.bind(kafka);
    kafka.producer = (config) => {
      asked.push(config ?? {});
      return producer(config);
    };
    new DeadLetterPublisher(kafka, 'dead-letters', 'test');
    new KafkajsTransport(kafka);
    expect(asked.map((c) => c.createPartitioner)).to.deep.equal([
      Partitioners.DefaultPartitioner,
      Partitioners.DefaultPartitioner,
    ]);
    expect(asked[0]).to.include({ idempotent: true, maxInFlightRequests: 1 });
    // A caller's options are kept; the partitioner is not theirs to change.
    const mine = producerConfig({ idempotent: true, createPartitioner: Partitioners.LegacyPartitioner });
    expect(mine).to.deep.equal({ idempotent: true, createPartitioner: Partitioners.DefaultPartitioner });
  });
});
