import type { ClickHouseClient } from '@clickhouse/client';
import type { LocalKafka } from '../../lib/runtime/local-kafka.js';

/** What the integration global setup started, shared by every integration test. */
export interface TestEnv {
  kafka: LocalKafka;
  brokers: string[];
  clickhouse: ClickHouseClient;
  chdbDir: string;
  workDir: string;
}

let current: TestEnv | undefined;

export function setTestEnv(env: TestEnv | undefined): void {
  current = env;
}

export function testEnv(): TestEnv {
  if (current === undefined) throw new Error('integration test environment not started (global-setup.ts)');
  return current;
}
