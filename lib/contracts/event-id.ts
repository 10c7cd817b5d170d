import { createHash } from 'node:crypto';

/**
 * Event id for events that arrive without one (older apps): a UUID (RFC 9562 version 8,
 * "custom") derived from a SHA-256 of the canonical event, so a retried copy gets the same
 * id and is stored once, and distinct events get distinct ids (collision odds of a 122-bit
 * hash, never a Bloom filter's false positives).
 */
export function contentEventId(canonical: readonly unknown[]): string {
  const h = createHash('sha256').update(JSON.stringify(canonical)).digest();
  h[6] = (h[6]! & 0x0f) | 0x80; // version 8
  h[8] = (h[8]! & 0x3f) | 0x80; // RFC 9562 variant
  const hex = h.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
