import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import type { BenchContext } from '../context.js';
import { ROOT } from '../proc.js';

export interface KafkaLimitResult {
  recordSizeBytes: number;
  records: number;
  recordsPerSec: number;
  avgLatencyMs: number;
  p99LatencyMs: number;
}

/**
 * 3: Kafka's own producer benchmark (org.apache.kafka.tools.ProducerPerformance from the
 * same jars) against the same broker, acks=all, the API's message size: what the broker
 * and a native client can absorb on this machine.
 */
export async function kafkaLimit(ctx: BenchContext, recordSizeBytes: number): Promise<KafkaLimitResult> {
  const topic = `bench-limit-${randomUUID()}`;
  const admin = new Kafka({ brokers: ctx.brokers, logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic, numPartitions: 6 }], waitForLeaders: true });
  await admin.disconnect();
  const records = ctx.quick ? 20_000 : 2_000_000;
  const tool = `org.apache.kafka.tools.ProducerPerformance --topic ${topic} --num-records ${records}`;
  const props = `bootstrap.servers=${ctx.brokers.join(',')} acks=all enable.idempotence=true`;
  const rest = `${tool} --record-size ${recordSizeBytes} --throughput -1 --producer-props ${props}`.split(
    ' ',
  );
  const lib = `${join(ROOT, 'infra/kafka/target/lib')}/*`;
  const res = spawnSync('java', ['-Xmx512m', '-cp', lib, ...rest], {
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
  });
  const summary = res.stdout.trim().split('\n').pop() ?? '';
  const m = /records sent, ([\d.]+) records\/sec .*?, ([\d.]+) ms avg latency.*?([\d.]+) ms 99th/.exec(
    summary,
  );
  if (res.status !== 0 || m === null) throw new Error(`ProducerPerformance failed: ${res.stderr || summary}`);
  return {
    recordSizeBytes,
    records,
    recordsPerSec: Math.round(Number(m[1])),
    avgLatencyMs: Number(m[2]),
    p99LatencyMs: Number(m[3]),
  };
}
