import type { Admin } from 'kafkajs';

export interface TopicSpec {
  topic: string;
  numPartitions: number;
  replicationFactor: number;
  config?: Record<string, string>;
}

/**
 * Creates topics that do not exist yet; leaves existing ones alone (partitions and
 * retention of a live topic are changed by operators, not by a restart).
 */
export async function ensureTopics(admin: Admin, specs: TopicSpec[]): Promise<void> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return;
  try {
    await admin.createTopics({
      waitForLeaders: true,
      topics: missing.map((s) => ({
        topic: s.topic,
        numPartitions: s.numPartitions,
        replicationFactor: s.replicationFactor,
        configEntries: Object.entries(s.config ?? {}).map(([name, value]) => ({ name, value })),
      })),
    });
  } catch (err) {
    const type = (err as { type?: string }).type;
    // Another process created it between listTopics and createTopics: that is success.
    if (type === 'TOPIC_ALREADY_EXISTS') return;
    // Created, but the broker kafkajs asked for leaders did not know the topic yet (a loaded
    // broker answers UNKNOWN_TOPIC_OR_PARTITION, which kafkajs' wait does not retry).
    if (type !== 'UNKNOWN_TOPIC_OR_PARTITION') throw err;
    await waitForLeaders(
      admin,
      missing.map((s) => s.topic),
    );
  }
}

async function waitForLeaders(admin: Admin, topics: string[], timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const { topics: meta } = await admin.fetchTopicMetadata({ topics });
      if (meta.every((t) => t.partitions.length > 0 && t.partitions.every((p) => p.leader >= 0))) return;
    } catch (err) {
      if (Date.now() > deadline) throw err;
    }
    if (Date.now() > deadline) throw new Error(`no leaders for ${topics.join(', ')} within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
