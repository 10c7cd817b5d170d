import type { StoredLetter } from './dead-letter-reader.js';

export interface ReplayPlan {
  /** Letters to republish, by source topic (each one a topic this system consumes). */
  byTopic: Map<string, StoredLetter[]>;
  /** Letters that name no source topic: nothing to replay to. */
  noSource: number;
  /** Letters naming a topic outside the allow-list, counted by that topic. */
  refused: Map<string, number>;
}

/**
 * Which dead letters `dlq replay` may republish, and where. A letter's source topic is a
 * header: anyone able to write to the dead-letter topic could name any topic (another
 * service's, the users topic, the DLQ itself), and replay would publish there with the
 * ETL's credentials. Only the topics the ETL consumes (whose failures go to the DLQ) are
 * allowed; the rest are counted, not published, and replay goes on.
 */
export function planReplay(letters: readonly StoredLetter[], allowedTopics: ReadonlySet<string>): ReplayPlan {
  const plan: ReplayPlan = { byTopic: new Map(), noSource: 0, refused: new Map() };
  for (const l of letters) {
    if (l.sourceTopic === '') plan.noSource += 1;
    else if (!allowedTopics.has(l.sourceTopic))
      plan.refused.set(l.sourceTopic, (plan.refused.get(l.sourceTopic) ?? 0) + 1);
    else plan.byTopic.set(l.sourceTopic, [...(plan.byTopic.get(l.sourceTopic) ?? []), l]);
  }
  return plan;
}
