import type { Config } from '../config/config.js';
import type { TopicSpec } from './topics.js';

/** The progress topic as configured: key = viewer id, so one viewer stays on one partition. */
export function progressTopicSpec(config: Config): TopicSpec {
  return {
    topic: config.topics.progress,
    numPartitions: config.topics.partitions,
    replicationFactor: config.topics.replicationFactor,
    config: {
      'retention.ms': String(config.topics.retentionMs),
      'min.insync.replicas': String(config.topics.minInsyncReplicas),
    },
  };
}

/** User-action events: same layout as progress (key = viewer id). */
export function eventsTopicSpec(config: Config): TopicSpec {
  return { ...progressTopicSpec(config), topic: config.topics.events };
}

/** Experiment exposures: same layout (key = device token). */
export function exposuresTopicSpec(config: Config): TopicSpec {
  return { ...progressTopicSpec(config), topic: config.topics.exposures };
}

/**
 * The users topic: compacted (the latest change per user is kept for good, so a new users
 * replica can always be rebuilt from the beginning); key = user id.
 */
export function usersTopicSpec(config: Config): TopicSpec {
  return {
    topic: config.topics.users,
    numPartitions: config.topics.partitions,
    replicationFactor: config.topics.replicationFactor,
    config: {
      'cleanup.policy': 'compact',
      'min.insync.replicas': String(config.topics.minInsyncReplicas),
    },
  };
}

/** Every topic the platform uses, for the startup step that creates missing ones. */
export function allTopicSpecs(config: Config): TopicSpec[] {
  return [
    progressTopicSpec(config),
    eventsTopicSpec(config),
    exposuresTopicSpec(config),
    usersTopicSpec(config),
    dlqTopicSpec(config),
  ];
}

/** The dead-letter topic: few partitions, long retention (letters wait for a fix). */
export function dlqTopicSpec(config: Config): TopicSpec {
  return {
    topic: config.topics.deadLetters,
    numPartitions: 1,
    replicationFactor: config.topics.replicationFactor,
    config: {
      'retention.ms': String(config.topics.deadLettersRetentionMs),
      'min.insync.replicas': String(config.topics.minInsyncReplicas),
    },
  };
}
