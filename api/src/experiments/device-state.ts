/**
 * What the API knows of one device: when it was first seen (µs, PostgreSQL's clock), when it
 * was last recorded as seen (µs; device retention) and its stored option per experiment, as
 * one flat array of numbers:
 * `[firstSeenUs, lastSeenUs, experimentId, position, experimentId, position, …]`.
 *
 * Why flat: the device cache keeps up to 100,000 of these, and every major GC marks them all.
 * V8 keeps such an array's numbers unboxed in one backing store the collector does not trace.
 * An object holding a Map (the object, the boxed first-seen time, the Map and its table) took
 * more heap per cached device and longer full GCs over a full cache (architecture/adr/0006,
 * decision 6). A device is in a
 * handful of experiments, so a linear scan finds an entry as fast as a hash lookup. The
 * last-seen time (device retention) is one more unboxed number per device.
 *
 * Immutable: an update returns a new array of exactly the length it needs (`concat`, `slice`).
 * A pushed-to array keeps room to grow (17 slots for 5 numbers), which gave back most of the
 * saving; and a state shared by concurrent requests or held in the cache is never changed
 * under them.
 */
export type DeviceState = readonly number[];

/** Where the stored options start. */
const OPTIONS = 2;

/** `lastSeenUs`: when the device was last recorded as seen; its first-seen time if never. */
export function deviceState(firstSeenUs: number, lastSeenUs: number = firstSeenUs): DeviceState {
  return [firstSeenUs, lastSeenUs];
}

export function firstSeenUs(state: DeviceState): number {
  return state[0]!;
}

/** When the device was last recorded as seen (µs), as far as this process knows. */
export function lastSeenUs(state: DeviceState): number {
  return state[1]!;
}

/** The state with the device recorded as seen at `us`. */
export function withLastSeen(state: DeviceState, us: number): DeviceState {
  const out = state.slice();
  out[1] = us;
  return out;
}

/** The stored option position in `experimentId`, or undefined when none is stored. */
export function storedOption(state: DeviceState, experimentId: number): number | undefined {
  for (let i = OPTIONS; i < state.length; i += 2) if (state[i] === experimentId) return state[i + 1];
  return undefined;
}

export function hasStored(state: DeviceState, experimentId: number): boolean {
  return storedOption(state, experimentId) !== undefined;
}

/**
 * The experiments the device is eligible for (first seen at or after their creation) that
 * hold no stored option yet.
 */
export function unstored<E extends { id: number; createdAtUs: number }>(
  state: DeviceState,
  experiments: E[],
): E[] {
  const seenUs = firstSeenUs(state);
  return experiments.filter((e) => e.createdAtUs <= seenUs && !hasStored(state, e.id));
}

/** The state with the option of one experiment recorded (replacing one recorded before). */
export function withStored(state: DeviceState, experimentId: number, position: number): DeviceState {
  for (let i = OPTIONS; i < state.length; i += 2) {
    if (state[i] === experimentId) {
      const out = state.slice();
      out[i + 1] = position;
      return out;
    }
  }
  return state.concat(experimentId, position);
}

/** The stored options as [experiment id, position] pairs, in the order they were recorded. */
export function storedEntries(state: DeviceState): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let i = OPTIONS; i < state.length; i += 2) out.push([state[i]!, state[i + 1]!]);
  return out;
}
