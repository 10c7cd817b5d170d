import { IdWindow } from './dedup/id-window.js';
import { uuidToWords } from './dedup/uuid-words.js';

/**
 * Turns the messages of one partition into insert blocks. Pure, so the offset arithmetic
 * that exactly-once depends on is unit-tested alone.
 *
 * Each block covers a contiguous offset range [firstOffset, lastOffset] of one partition
 * and carries the deterministic dedup token `topic:partition:first-last`: when the same
 * range is inserted again (an insert that succeeded although the client saw an error),
 * ClickHouse drops the replayed block.
 *
 * A block never spans two table partitions (splitKey, e.g. the month of received_at):
 * ClickHouse writes such a block as several parts, not atomically, and a replay of the
 * unwritten rest under the same token could be mistaken for the written part.
 *
 * Messages that fail to decode are returned as rejects with their raw key and value (for
 * the dead-letter topic); their offsets still belong to a block, so committing past them
 * never skips a good row.
 */
export interface SourceMessage {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
}

export interface Reject {
  offset: string;
  key: Buffer | null;
  value: Buffer | null;
  reason: string;
}

export interface BlockRow<R> {
  offset: string;
  id: string;
  /** The viewer the row is about, when its stream names one (erasure drops by it). */
  viewer?: string | null;
  row: R;
  key: Buffer | null;
  value: Buffer | null;
}

export interface InsertBlock<R> {
  token: string;
  firstOffset: string;
  lastOffset: string;
  rows: BlockRow<R>[];
  rejects: Reject[];
}

export type Decoded<R> =
  { ok: true; row: R; id: string; splitKey: string; viewer?: string | null } | { ok: false; reason: string };
export type Decoder<R> = (value: Buffer | null, offset: string) => Decoded<R>;

export function dedupToken(topic: string, partition: number, first: string, last: string): string {
  return `${topic}:${partition}:${first}-${last}`;
}

export function buildInsertBlocks<R>(
  topic: string,
  partition: number,
  messages: readonly SourceMessage[],
  maxRows: number,
  decode: Decoder<R>,
): InsertBlock<R>[] {
  const blocks: InsertBlock<R>[] = [];
  let current: InsertBlock<R> | undefined;
  let currentKey: string | undefined;
  for (const msg of messages) {
    const decoded = decode(msg.value, msg.offset);
    const splitKey = decoded.ok ? decoded.splitKey : currentKey;
    if (
      current === undefined ||
      current.rows.length >= maxRows ||
      (splitKey !== currentKey && current.rows.length > 0)
    ) {
      current = { token: '', firstOffset: msg.offset, lastOffset: msg.offset, rows: [], rejects: [] };
      blocks.push(current);
    }
    currentKey = splitKey;
    current.lastOffset = msg.offset;
    if (decoded.ok) {
      const row: BlockRow<R> = {
        offset: msg.offset,
        id: decoded.id,
        row: decoded.row,
        key: msg.key,
        value: msg.value,
      };
      if (decoded.viewer !== undefined) row.viewer = decoded.viewer;
      current.rows.push(row);
    } else {
      current.rejects.push({ offset: msg.offset, key: msg.key, value: msg.value, reason: decoded.reason });
    }
  }
  for (const b of blocks) b.token = dedupToken(topic, partition, b.firstOffset, b.lastOffset);
  return blocks;
}

/** The offset to commit after a block: the next one to read. */
export function nextOffset(lastOffset: string): string {
  return (BigInt(lastOffset) + 1n).toString();
}

/** What `dropSeen` reads: the partition's dedup window (dedup/id-window.ts). */
export interface SeenIds {
  hasWords(words: Uint32Array, at: number): boolean;
}

/**
 * Rows whose id is new: not seen before and not repeated earlier in the same block. Ids
 * are compared as their 128 bits (dedup/uuid-words.ts), as the window and ClickHouse's
 * UUID column compare them. `words` holds each fresh row's id, four words per row in
 * `fresh`'s order, for adding them to the window once they are stored.
 */
export function dropSeen<R>(
  rows: BlockRow<R>[],
  seen: SeenIds,
): { fresh: BlockRow<R>[]; dropped: number; words: Uint32Array } {
  const inBlock = new IdWindow(Math.max(1, rows.length), Number.POSITIVE_INFINITY, rows.length);
  const words = new Uint32Array(rows.length * 4);
  const fresh: BlockRow<R>[] = [];
  for (const r of rows) {
    const at = fresh.length * 4;
    if (!uuidToWords(r.id, words, at)) throw new Error(`row at offset ${r.offset} has no UUID id`);
    if (seen.hasWords(words, at) || !inBlock.addWords(words, at, 0)) continue;
    fresh.push(r);
  }
  return { fresh, dropped: rows.length - fresh.length, words: words.subarray(0, fresh.length * 4) };
}
