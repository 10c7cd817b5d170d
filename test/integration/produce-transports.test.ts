import { randomUUID } from 'node:crypto';
import { expect } from 'chai';
import { KafkajsTransport } from '../../api/src/ingest/kafkajs-transport.js';
import { PlatformaticTransport } from '../../api/src/ingest/platformatic-transport.js';
import type { ProduceTransport } from '../../api/src/ingest/produce-transport.js';
import { PLAINTEXT } from '../../lib/kafka/security.js';
import { readAll, testKafka, withAdmin } from '../helpers/kafka-helpers.js';
import { testEnv } from '../helpers/test-env.js';

/**
 * The ETL drops a client retry only if it lands on the partition of its first copy, so
 * API instances running different producer clients must place every key alike (the Java
 * client's murmur2). @platformatic/kafka's default partitioner does not; this fails if
 * the transport ever loses its compatibility partitioner.
 */
describe('producer clients place keys on the same partitions', () => {
  it('kafkajs and @platformatic/kafka agree on 500 keys over 7 partitions', async () => {
    const { brokers } = testEnv();
    const keys = Array.from({ length: 500 }, () => randomUUID());
    // Runs of one key, as a batch request sends (one viewer): the transport remembers the
    // last key's hash, so every copy must still land with its first.
    const sent = keys.flatMap((key, i) => Array.from({ length: (i % 3) + 1 }, () => key));
    const transports: ProduceTransport[] = [
      new KafkajsTransport(testKafka(brokers)),
      new PlatformaticTransport({ brokers, clientId: 'test', connectTimeoutMs: 3000, security: PLAINTEXT }),
    ];
    const placements: Map<string, number>[] = [];
    for (const transport of transports) {
      const topic = `transport-${transport.client}-${randomUUID()}`;
      await withAdmin(brokers, (admin) =>
        admin.createTopics({ topics: [{ topic, numPartitions: 7 }], waitForLeaders: true }),
      );
      await transport.connect();
      expect(transport.isConnected()).to.equal(true);
      try {
        await transport.send(
          topic,
          sent.map((key) => ({ key, value: JSON.stringify({ key, client: transport.client }) })),
        );
      } finally {
        await transport.disconnect();
      }
      const read = await readAll(brokers, topic);
      expect(read).to.have.length(sent.length);
      const placed = new Map<string, number>();
      for (const m of read) {
        expect(JSON.parse(m.value!)).to.deep.equal({ key: m.key, client: transport.client });
        expect(placed.get(m.key!) ?? m.partition, m.key!).to.equal(m.partition);
        placed.set(m.key!, m.partition);
      }
      placements.push(placed);
    }
    const [kafkajs, platformatic] = placements as [Map<string, number>, Map<string, number>];
    expect(new Set(kafkajs.values()).size).to.equal(7); // keys do spread over every partition
    for (const key of keys) expect(platformatic.get(key), key).to.equal(kafkajs.get(key));
  });
});
