/**
 * Turns the messages of one partition into insert blocks. Pure, so the offset arithmetic
 * that exactly-once depends on is unit-tested alone.
 *
 * Each block covers a contiguous offset range [firstOffset, lastOffset] of one partition
 * and carries the deterministic dedup token `topic:partition:first-last`: when the same
 * range is inserted again after a crash or rebalance, ClickHouse drops the replayed block.
 * Messages that fail to decode are returned as rejects; their offsets still belong to a
 * range, so committing past them never skips a good row.
 */
export interface SourceMessage {
  offset: string;
  value: Buffer | null;
}

export interface Reject {
  offset: string;
  reason: string;
}

export interface InsertBlock<R> {
  token: string;
  firstOffset: string;
  lastOffset: string;
  rows: R[];
  rejects: Reject[];
}

export type Decoder<R> = (
  value: Buffer | null,
  offset: string,
) => { ok: true; row: R } | { ok: false; reason: string };

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
  for (const msg of messages) {
    if (current === undefined || current.rows.length >= maxRows) {
      current = { token: '', firstOffset: msg.offset, lastOffset: msg.offset, rows: [], rejects: [] };
      blocks.push(current);
    }
    current.lastOffset = msg.offset;
    const decoded = decode(msg.value, msg.offset);
    if (decoded.ok) current.rows.push(decoded.row);
    else current.rejects.push({ offset: msg.offset, reason: decoded.reason });
  }
  for (const b of blocks) b.token = dedupToken(topic, partition, b.firstOffset, b.lastOffset);
  return blocks;
}

/** The offset to commit after a block: the next one to read. */
export function nextOffset(lastOffset: string): string {
  return (BigInt(lastOffset) + 1n).toString();
}
