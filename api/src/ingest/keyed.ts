import type { KeyedMessage } from './kafka-publisher.js';

/** Key = viewer id: one viewer's events stay ordered in one partition, and a retried copy
 * of an event lands where the ETL's dedup window for it lives. */
export function keyedByViewer(message: { viewer_id: string }): KeyedMessage {
  return { key: message.viewer_id, value: JSON.stringify(message) };
}
