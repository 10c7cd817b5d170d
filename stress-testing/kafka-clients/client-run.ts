/* eslint-disable @typescript-eslint/no-unsafe-assignment, @typescript-eslint/no-unsafe-call, @typescript-eslint/no-unsafe-member-access, @typescript-eslint/no-unsafe-argument, @typescript-eslint/no-unsafe-return, @typescript-eslint/no-explicit-any --
 * The candidate clients are installed on demand into this folder (not the product's
 * dependencies), so they are loaded by name and used untyped here. */
/**
 * One Kafka client, one job, in its own process (so CPU is the client's alone):
 *   tsx client-run.ts consume <client> <brokers> <topic> <n>
 *   tsx client-run.ts produce <client> <brokers> <topic> <n> <batch> <inflight>
 * consume: read n messages from the earliest offset, doing nothing with them.
 * produce: n copies of the bench's progress message (key = viewer id) in sends of
 * `batch` messages, `inflight` sends at once (the API's micro-batcher shape), acks=all.
 * Prints JSON {messagesPerSec, cpuMsPer1k}: rate from the first message (consume) or the
 * first send (produce) to the last, CPU of this whole process over the same span.
 */
import { randomUUID } from 'node:crypto';
import { cpuMsPer1k } from '../src/proc.js';
import { sampleMessage } from '../src/prefill.js';

const [mode, client, brokersArg = '', topic, nArg, batchArg, inflightArg] = process.argv.slice(2);
const brokers = brokersArg.split(',');
const n = Number(nArg);
const load = (name: string): Promise<any> => import(name);

/** The measured span: from start() to done(count), wall time and this process's CPU. */
class Span {
  private t0 = 0;
  private cpu0 = process.cpuUsage();
  result = { messagesPerSec: 0, cpuMsPer1k: 0 };
  start(): void {
    this.t0 = performance.now();
    this.cpu0 = process.cpuUsage();
  }
  done(count: number): void {
    const cpu = process.cpuUsage(this.cpu0);
    const seconds = (performance.now() - this.t0) / 1000;
    this.result = {
      messagesPerSec: Math.round(count / seconds),
      cpuMsPer1k: cpuMsPer1k((cpu.user + cpu.system) / 1e6, count),
    };
  }
}

async function consume(s: Span): Promise<void> {
  const groupId = `bench-${client}-${randomUUID()}`;
  let seen = 0;
  await new Promise<void>((resolve, reject) => {
    const count = (k: number, finish: () => void) => {
      if (seen === 0) s.start();
      seen += k;
      if (seen >= n) {
        s.done(seen);
        finish();
      }
    };
    void (async () => {
      if (client === 'kafkajs') {
        const { Kafka, logLevel } = await load('kafkajs');
        const consumer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).consumer({
          groupId,
          maxBytesPerPartition: 10 * 1024 * 1024,
        });
        await consumer.connect();
        await consumer.subscribe({ topic, fromBeginning: true });
        await consumer.run({
          eachBatch: ({ batch }: any) => {
            count(batch.messages.length, () => void consumer.disconnect().then(resolve));
            return Promise.resolve();
          },
        });
      } else if (client === 'platformatic') {
        const { Consumer, MessagesStreamModes } = await load('@platformatic/kafka');
        const consumer = new Consumer({ groupId, clientId: 'bench', bootstrapBrokers: brokers });
        const stream = await consumer.consume({ topics: [topic], mode: MessagesStreamModes.EARLIEST });
        stream.on('data', () =>
          count(1, () => void stream.close().then(() => consumer.close(true).then(resolve))),
        );
      } else {
        const { KafkaJS } = await load('@confluentinc/kafka-javascript');
        const consumer = new KafkaJS.Kafka({
          kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING },
        }).consumer({
          kafkaJS: { groupId, fromBeginning: true, autoCommit: false },
          'js.consumer.max.batch.size': 10_000,
        });
        await consumer.connect();
        await consumer.subscribe({ topics: [topic] });
        await consumer.run({
          eachBatch: ({ batch }: any) => {
            count(batch.messages.length, () => void consumer.disconnect().then(resolve));
            return Promise.resolve();
          },
        });
      }
    })().catch(reject);
  });
}

async function produce(s: Span): Promise<void> {
  const batch = Number(batchArg ?? 500);
  const inflight = Number(inflightArg ?? 4);
  const messages = Array.from({ length: batch }, () => {
    const m = sampleMessage();
    return { key: m.viewer_id, value: JSON.stringify(m) };
  });
  let send: () => Promise<unknown>;
  let close: () => Promise<unknown>;
  if (client === 'kafkajs') {
    const { Kafka, logLevel } = await load('kafkajs');
    const producer = new Kafka({ brokers, logLevel: logLevel.NOTHING }).producer({
      idempotent: true,
      maxInFlightRequests: 1,
    });
    await producer.connect();
    send = () => producer.send({ topic, acks: -1, messages });
    close = () => producer.disconnect();
  } else if (client === 'platformatic') {
    const { Producer, stringSerializers, ProduceAcks } = await load('@platformatic/kafka');
    const options = { clientId: 'bench', bootstrapBrokers: brokers, serializers: stringSerializers };
    const producer = new Producer({ ...options, idempotent: true });
    const records = messages.map((m) => ({ ...m, topic }));
    send = () => producer.send({ messages: records, acks: ProduceAcks.ALL });
    close = () => producer.close();
  } else {
    const { KafkaJS } = await load('@confluentinc/kafka-javascript');
    const kafka = new KafkaJS.Kafka({ kafkaJS: { brokers, logLevel: KafkaJS.logLevel.NOTHING } });
    const producer = kafka.producer({ kafkaJS: { acks: -1, idempotent: true }, 'linger.ms': 5 });
    await producer.connect();
    send = () => producer.send({ topic, messages });
    close = () => producer.disconnect();
  }
  await send(); // connection and metadata warm-up, not measured
  s.start();
  let sent = 0;
  const worker = async () => {
    while (sent < n) {
      sent += batch;
      await send();
    }
  };
  await Promise.all(Array.from({ length: inflight }, worker));
  s.done(sent);
  await close();
}

const s = new Span();
await (mode === 'consume' ? consume(s) : produce(s));
process.stdout.write(`${JSON.stringify({ client, mode, ...s.result })}\n`);
process.exit(0);
