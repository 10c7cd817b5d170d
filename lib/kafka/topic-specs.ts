import type { Config } from '../config/config.js';
import type { TopicSpec } from './topics.js';

/** The progress topic as configured: key = viewer id, so one viewer stays on one partition. */
export function progressTopicSpec(config: Config): TopicSpec {
  return {
    topic: config.kafkaTopicProgress,
    numPartitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    config: {
      'retention.ms': String(config.kafkaRetentionMs),
      'min.insync.replicas': String(config.kafkaMinInsyncReplicas),
    },
  };
}

/** User-action events: same layout as progress (key = viewer id). */
export function eventsTopicSpec(config: Config): TopicSpec {
  return { ...progressTopicSpec(config), topic: config.kafkaTopicEvents };
}

/** Experiment exposures: same layout (key = device token). */
export function exposuresTopicSpec(config: Config): TopicSpec {
  return { ...progressTopicSpec(config), topic: config.kafkaTopicExposures };
}

/**
 * The users topic: compacted (the latest change per user is kept for good, so a new users
 * replica can always be rebuilt from the beginning); key = user id.
 */
export function usersTopicSpec(config: Config): TopicSpec {
  return {
    topic: config.kafkaTopicUsers,
    numPartitions: config.kafkaTopicPartitions,
    replicationFactor: config.kafkaReplicationFactor,
    config: {
      'cleanup.policy': 'compact',
      'min.insync.replicas': String(config.kafkaMinInsyncReplicas),
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
    topic: config.kafkaTopicDlq,
    numPartitions: 1,
    replicationFactor: config.kafkaReplicationFactor,
    config: {
      'retention.ms': String(config.kafkaDlqRetentionMs),
      'min.insync.replicas': String(config.kafkaMinInsyncReplicas),
    },
  };
}
