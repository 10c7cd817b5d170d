/**
 * What the API knows of one device: when it was first seen (µs, PostgreSQL's clock) and its
 * stored option per experiment, as one flat array of numbers:
 * `[firstSeenUs, experimentId, position, experimentId, position, …]`.
 *
 * Why flat: the device cache keeps up to 100,000 of these, and every major GC marks them all.
 * V8 keeps such an array's numbers unboxed in one backing store the collector does not trace.
 * With an object holding a Map (the object, the boxed first-seen time, the Map and its table)
 * a cached device took ~370 bytes of heap, keys included, and a full GC over 100,000 of them
 * ~27 ms; with this, ~220 bytes and ~17 ms (`npm run bench:device-cache`; ~200 bytes and
 * 11–16 ms since lib/lru.ts keeps its order in typed arrays). A device is in a
 * handful of experiments, so a linear scan finds an entry as fast as a hash lookup.
 *
 * Immutable: an update returns a new array of exactly the length it needs (`concat`, `slice`).
 * A pushed-to array keeps room to grow (17 slots for 5 numbers), which gave back most of the
 * saving; and a state shared by concurrent requests or held in the cache is never changed
 * under them.
 */
export type DeviceState = readonly number[];

export function deviceState(firstSeenUs: number): DeviceState {
  return [firstSeenUs];
}

export function firstSeenUs(state: DeviceState): number {
  return state[0]!;
}

/** The stored option position in `experimentId`, or undefined when none is stored. */
export function storedOption(state: DeviceState, experimentId: number): number | undefined {
  for (let i = 1; i < state.length; i += 2) if (state[i] === experimentId) return state[i + 1];
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
  for (let i = 1; i < state.length; i += 2) {
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
  for (let i = 1; i < state.length; i += 2) out.push([state[i]!, state[i + 1]!]);
  return out;
}
