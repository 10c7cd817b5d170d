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

/** Rows whose id is new: not seen before and not repeated earlier in the same block. */
export function dropSeen<R>(
  rows: BlockRow<R>[],
  seen: (id: string) => boolean,
): { fresh: BlockRow<R>[]; dropped: number } {
  const inBlock = new Set<string>();
  const fresh: BlockRow<R>[] = [];
  for (const r of rows) {
    if (seen(r.id) || inBlock.has(r.id)) continue;
    inBlock.add(r.id);
    fresh.push(r);
  }
  return { fresh, dropped: rows.length - fresh.length };
}
