/**
 * 3b (child process): the API's own producer (the publisher `buildApi` wires, its client,
 * linger and batching) publishing the API's messages with nothing else in the process: no
 * HTTP, no auth, no validation. What the batch endpoint could reach at best through this
 * client; Kafka's ProducerPerformance (3) is what a native client reaches on the broker.
 * Usage: tsx producer-limit.ts <brokers> <topic> <messages>; prints JSON
 * {messages, seconds, cpuSeconds}.
 */
import { createPublisher } from '../../api/src/build-api.js';
import { keyedByViewer } from '../../api/src/ingest/keyed.js';
import { loadConfig } from '../../lib/config/config.js';
import { createKafka, kafkaClientOptions } from '../../lib/kafka/client.js';
import { progressTopicSpec } from '../../lib/kafka/topic-specs.js';
import { ensureTopics } from '../../lib/kafka/topics.js';
import { createLogger } from '../../lib/log.js';
import { createMetrics } from '../../lib/metrics/registry.js';
import { sampleMessage } from './prefill.js';

const [brokers, topic, messagesArg] = process.argv.slice(2);
const total = Number(messagesArg);
/** As the batch endpoint's heaviest step: 500 events a request, 16 requests in flight. */
const PER_CALL = 500;
const IN_FLIGHT = 16;
const config = loadConfig({ KAFKA_BROKERS: brokers!, KAFKA_TOPIC_PROGRESS: topic!, LOG_LEVEL: 'warn' });
const log = createLogger({ level: 'warn', pretty: false, name: 'producer-limit' });
const kafka = createKafka(kafkaClientOptions(config, 'producer-limit'), log);
const admin = kafka.admin();
await admin.connect();
await ensureTopics(admin, [progressTopicSpec(config)]);
await admin.disconnect();
const publisher = createPublisher(config, kafka, log, createMetrics());
await publisher.start();
// Bodies built before the clock starts, as the load generator's are.
const calls = Array.from({ length: 64 }, () =>
  Array.from({ length: PER_CALL }, () => keyedByViewer(sampleMessage())),
);
await publisher.publish(topic!, calls[0]!); // connections and metadata
const started = performance.now();
const cpuBefore = process.cpuUsage();
let next = 0;
const worker = async () => {
  while (next < total) {
    const batch = calls[(next / PER_CALL) % calls.length]!;
    next += PER_CALL;
    await publisher.publish(topic!, batch);
  }
};
await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
const seconds = (performance.now() - started) / 1000;
const cpu = process.cpuUsage(cpuBefore);
await publisher.stop();
process.stdout.write(
  `${JSON.stringify({ messages: next, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6 })}\n`,
);
