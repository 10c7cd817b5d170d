import { createRequire } from 'node:module';
import { Kafka, logLevel, Partitioners, type logCreator, type ProducerConfig } from 'kafkajs';
import type { Config } from '../config/config.js';
import type { Logger } from '../log.js';
import { kafkaSecurity, type KafkaSecurity } from './security.js';

/** What every Kafka client of the product is built from, kafkajs or @platformatic/kafka. */
export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  connectTimeoutMs: number;
  security: KafkaSecurity;
}

/** The one place config becomes client options, so no client misses the TLS/SASL settings. */
export function kafkaClientOptions(config: Config, name: string): KafkaClientOptions {
  return {
    brokers: config.kafka.brokers,
    clientId: `${config.kafka.clientId}-${name}`,
    connectTimeoutMs: config.kafka.connectTimeoutMs,
    security: kafkaSecurity(config.kafka),
  };
}

const LEVELS: Record<number, 'error' | 'warn' | 'info' | 'debug'> = {
  [logLevel.ERROR]: 'error',
  [logLevel.WARN]: 'warn',
  [logLevel.INFO]: 'info',
  [logLevel.DEBUG]: 'debug',
};

/** The messages of the broker errors kafkajs retries (its own table of Kafka error codes). */
const RETRIABLE = new Set(
  (
    createRequire(import.meta.url)('kafkajs/src/protocol/error') as {
      errorCodes: { message: string; retriable: boolean }[];
    }
  ).errorCodes
    .filter((e) => e.retriable)
    .map((e) => e.message),
);

/**
 * The level a kafkajs log line gets in ours. kafkajs logs every broker error at ERROR, and
 * its connections log each error answer (`Response <api>(...)`, with the broker's message)
 * whether or not the request is retried. An answer kafkajs retries ("the coordinator is
 * loading" at every fresh start, "not leader" at every election) is info: whoever made the
 * request logs the error if the retries run out. Any other ERROR, a refused authorization
 * or a message too large included, is a warning: the caller decides what is an error.
 */
export function kafkajsLevel(
  namespace: string,
  level: logLevel,
  message: string,
  error?: unknown,
): 'error' | 'warn' | 'info' | 'debug' {
  if (level === logLevel.ERROR || level === logLevel.WARN) {
    const retried =
      namespace === 'Connection' &&
      message.startsWith('Response ') &&
      typeof error === 'string' &&
      RETRIABLE.has(error);
    return retried ? 'info' : 'warn';
  }
  return LEVELS[level] ?? 'info';
}

/** Routes kafkajs' own logs into our pino logger (one JSON stream per process). */
function pinoLogCreator(log: Logger): logCreator {
  return () =>
    ({ namespace, level, log: entry }) => {
      const { message, timestamp: _ts, logger: _logger, ...context } = entry;
      log[kafkajsLevel(namespace, level, message, context.error)](
        { kafka_namespace: namespace, ...context },
        message,
      );
    };
}

export function createKafka(opts: KafkaClientOptions, log: Logger): Kafka {
  return new Kafka({
    clientId: opts.clientId,
    brokers: opts.brokers,
    connectionTimeout: opts.connectTimeoutMs,
    ssl: opts.security.tls,
    sasl: opts.security.sasl,
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(log.child({ module: 'kafkajs' })),
  });
}

/**
 * Every kafkajs producer's options: the Java client's partitioner (murmur2 of the key), named
 * so a keyed message lands where the API's producers (either client), the DLQ replay and
 * Kafka's own tools put it. kafkajs' default is the same one, but left implicit it logs a
 * warning about its v2 change at every start, which reads like a fault to whoever runs it.
 */
export function producerConfig(config: ProducerConfig): ProducerConfig {
  return { ...config, createPartitioner: Partitioners.DefaultPartitioner };
}
