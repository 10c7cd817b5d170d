/**
 * A bounded least-recently-used map: a Map from key to slot, and the recency order as a
 * doubly linked list of slots in two Int32Arrays.
 *
 * Why not a Map alone (re-inserting a key on each hit, so its first key is the least
 * recently used): every hit then deleted and re-set an entry. V8 keeps a deleted entry as a
 * hole until it rebuilds the table, so a busy, large cache rebuilt a large table every few
 * seconds, allocated straight into the old generation. Worse,
 * the long-lived iterator that version took its oldest key from held on to every table a
 * rebuild left behind (V8 chains them for live iterators) until the next eviction, and a
 * cache below its bound never evicts: a small token cache grew the heap with every hit,
 * without end (architecture/adr/0006). Here a hit only
 * relinks two slots in the typed arrays, and the Map changes only when a key is added or
 * evicted.
 */
export class Lru<K, V> {
  private readonly slots = new Map<K, number>();
  private readonly keys: K[] = [];
  private readonly values: V[] = [];
  /** Per slot: the next older slot and the next newer one, NONE at either end. */
  private older = new Int32Array(0);
  private newer = new Int32Array(0);
  /** The least and the most recently used slots. */
  private oldest = NONE;
  private newest = NONE;

  constructor(private readonly maxEntries: number) {
    if (!(maxEntries >= 0)) throw new RangeError('maxEntries must be ≥ 0');
  }

  get size(): number {
    return this.slots.size;
  }

  get(key: K): V | undefined {
    const slot = this.slots.get(key);
    if (slot === undefined) return undefined;
    this.touch(slot);
    return this.values[slot];
  }

  set(key: K, value: V): void {
    const found = this.slots.get(key);
    if (found !== undefined) {
      this.values[found] = value;
      this.touch(found);
      return;
    }
    if (this.maxEntries === 0) return;
    let slot: number;
    if (this.slots.size < this.maxEntries) {
      slot = this.keys.length;
      this.ensureCapacity(slot + 1);
      this.keys.push(key);
      this.values.push(value);
    } else {
      // Full: the least recently used slot takes the new key.
      slot = this.oldest;
      this.slots.delete(this.keys[slot]!);
      this.unlink(slot);
      this.keys[slot] = key;
      this.values[slot] = value;
    }
    this.slots.set(key, slot);
    this.append(slot);
  }

  clear(): void {
    this.slots.clear();
    this.keys.length = 0;
    this.values.length = 0;
    this.oldest = NONE;
    this.newest = NONE;
  }

  /** Makes `slot` the most recently used one. */
  private touch(slot: number): void {
    if (slot === this.newest) return;
    this.unlink(slot);
    this.append(slot);
  }

  private unlink(slot: number): void {
    const o = this.older[slot]!;
    const n = this.newer[slot]!;
    if (o === NONE) this.oldest = n;
    else this.newer[o] = n;
    if (n === NONE) this.newest = o;
    else this.older[n] = o;
  }

  private append(slot: number): void {
    this.older[slot] = this.newest;
    this.newer[slot] = NONE;
    if (this.newest === NONE) this.oldest = slot;
    else this.newer[this.newest] = slot;
    this.newest = slot;
  }

  /** Grows the link arrays by doubling (up to maxEntries), so a large bound costs nothing until used. */
  private ensureCapacity(slots: number): void {
    if (slots <= this.older.length) return;
    const size = Math.min(this.maxEntries, Math.max(16, this.older.length * 2));
    const older = new Int32Array(size);
    const newer = new Int32Array(size);
    older.set(this.older);
    newer.set(this.newer);
    this.older = older;
    this.newer = newer;
  }
}

const NONE = -1;
