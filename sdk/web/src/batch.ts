/** Which queued events go together in one request: pure, so it is unit-tested alone. */

/** The two batch endpoints: playback progress and user actions. */
export type Stream = 'progress' | 'event';

export interface QueuedEvent {
  /** The client event_id: the server stores an event once however often it is sent. */
  id: string;
  stream: Stream;
  /** Order of enqueueing, kept across reloads. */
  seq: number;
  /** The request item, as JSON. */
  item: string;
  /** UTF-8 length of item. */
  bytes: number;
  /** When an exit flush (beacon) last carried it. */
  beaconAt?: number;
}

export interface BatchLimits {
  maxCount: number;
  maxBytes: number;
}

/**
 * The oldest event's stream, then its later events in order while the request stays within
 * maxCount events and maxBytes of body (envelopeBytes plus one comma per item). The first
 * event is taken even alone over maxBytes: the server, not the queue, refuses it.
 */
export function nextBatch(
  queued: readonly QueuedEvent[],
  limits: BatchLimits,
  envelopeBytes: number,
): QueuedEvent[] {
  const first = queued[0];
  if (first === undefined) return [];
  const batch: QueuedEvent[] = [];
  let bytes = envelopeBytes;
  for (const e of queued) {
    if (e.stream !== first.stream) continue;
    if (batch.length === limits.maxCount) break;
    if (batch.length > 0 && bytes + e.bytes + 1 > limits.maxBytes) break;
    batch.push(e);
    bytes += e.bytes + 1;
  }
  return batch;
}

/** UTF-8 length of a string (a surrogate pair is four bytes, two per half). */
export function utf8Bytes(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    n += c < 0x80 ? 1 : c < 0x800 ? 2 : c >= 0xd800 && c <= 0xdfff ? 2 : 3;
  }
  return n;
}
