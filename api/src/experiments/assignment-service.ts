import type { Pool } from 'pg';
import type { OptionValue } from '../../../lib/contracts/experiment.js';
import { IGNORE_BATCHES, observed, type BatchObserver } from '../db/batch-loader.js';
import { db } from '../../../lib/db/errors.js';
import { UnavailableError } from '../../../lib/errors.js';
import { Lru } from '../lru.js';
import { DeviceReader } from './device-reader.js';
import {
  firstSeenUs,
  hasStored,
  lastSeenUs,
  withLastSeen,
  storedOption,
  unstored,
  withStored,
  type DeviceState,
} from './device-state.js';
import { DeviceLoader, pickFor } from './device-loader.js';
import type { DeviceSeen } from './device-seen.js';
import { DeviceLoadRoute, type DeviceLoadMode } from './device-load-route.js';
import { admits, isTargeted, mayServe, type StoredExperiment } from './experiment-store.js';
import type { RunningExperiments } from './running-experiments.js';

export interface Assignment {
  experiment: StoredExperiment;
  optionIndex: number;
  value: OptionValue;
  /** True when this request made the assignment (first serve). */
  isNew: boolean;
}

export interface AssignmentServiceOptions {
  /** Devices kept in memory (EXPERIMENTS_DEVICE_CACHE_SIZE). */
  cacheSize: number;
  /** How long a new device waits to share its registration (EXPERIMENTS_REGISTER_LINGER_MS). */
  registerLingerMs: number;
  /** Lookup first, one statement, or whichever suits the traffic (EXPERIMENTS_DEVICE_LOAD). */
  deviceLoad?: DeviceLoadMode;
  /**
   * Most requests waiting for a device lookup or registration to start, per queue
   * (EXPERIMENTS_DEVICE_QUEUE_MAX); one more answers 503 at once. Unbounded when absent.
   */
  queueMax?: number;
  /**
   * Records devices as seen, about once a day each (device retention); absent: never
   * (EXPERIMENTS_DEVICE_RETENTION_DAYS=0).
   */
  seen?: DeviceSeen;
  /** The clock for `seen` (ms). */
  now?: () => number;
}

const US_PER_DAY = 86_400_000_000;

/** What a request gets when the device queue is full: retry shortly, the database is behind. */
export function deviceQueueFull(): UnavailableError {
  return new UnavailableError('too many devices waiting for the database, retry later', {
    code: 'overloaded',
    retryAfterSec: 1,
  });
}

interface Split {
  open: StoredExperiment[];
  targeted: StoredExperiment[];
}

/**
 * The device's value in every running experiment it is eligible for.
 *
 * - Eligible: the device was first seen at or after the experiment was created (times in
 *   microseconds, both from PostgreSQL's clock).
 * - Value: deterministic hash bucketing (seed per experiment), stored on first serve;
 *   afterwards the stored value wins, so it stays fixed even if weights change.
 * - Concurrent first requests: both compute, `ON CONFLICT DO NOTHING` keeps one row, and
 *   the loser re-reads it; no lock, and never two different values.
 * - Cache: a stored assignment never changes and a device's first-seen time never
 *   changes, so what was read once is reused (bounded LRU). A device's eligible set only
 *   shrinks later (experiments created after it was first seen never apply), so a cached
 *   device that covers every eligible experiment needs no query at all; one that does not
 *   (an experiment that became visible late) goes to the database. Safe across replicas.
 *
 * Cost: returning device in cache 0 queries; not in cache 1 (shared with concurrent
 * lookups); new device 2 (the lookup, then the read-or-register statement whose commit it
 * shares with concurrent new devices), or 1 while most devices loaded are new (straight to
 * read-or-register, see DeviceLoadRoute). A request with a viewer token, for a device
 * eligible for a running segment-targeted experiment, also reads the viewer's segments (1,
 * shared with concurrent lookups): membership is proved per request. Only when the viewer
 * is admitted to one the device holds no value in is the device read again (1) and the
 * value stored (1). Requests without a viewer never wait on targeting. With retention on, a device is read
 * again once a day (1) and recorded as seen (a write nobody waits for).
 */
export class AssignmentService {
  private readonly cache: Lru<string, DeviceState>;
  private readonly reader: DeviceReader;
  private readonly devices: DeviceLoader;
  private readonly route: DeviceLoadRoute;
  private readonly splits = new WeakMap<StoredExperiment[], Split>();
  private readonly seen: DeviceSeen | undefined;
  private readonly now: () => number;

  constructor(
    private readonly pool: Pool,
    private readonly running: RunningExperiments,
    {
      cacheSize,
      registerLingerMs,
      deviceLoad = 'adaptive',
      queueMax,
      seen,
      now = Date.now,
    }: AssignmentServiceOptions,
    /** The segments a viewer is active in (targeted experiments). */
    private readonly viewerSegments: (viewerId: string) => Promise<ReadonlySet<string>> = () =>
      Promise.resolve(new Set()),
    observeBatch: BatchObserver = IGNORE_BATCHES,
  ) {
    this.cache = new Lru(cacheSize);
    // Few statements in flight: what arrives meanwhile shares the next (group commit). One
    // read-or-register at a time, since it may commit: fewer, larger commits cost PostgreSQL
    // less CPU per registered device at the same latency; lookups are cheap enough for two.
    // Registrations can also linger (EXPERIMENTS_REGISTER_LINGER_MS, off by default) so more
    // share a commit: it trades latency for PostgreSQL's CPU, worth it where that CPU is what
    // runs out (architecture/adr/0006).
    const bound = { maxQueued: queueMax, overflow: deviceQueueFull };
    this.reader = new DeviceReader(pool, {
      maxInFlight: 2,
      ...bound,
      ...observed('devices-read', observeBatch),
    });
    this.devices = new DeviceLoader(pool, {
      maxBatch: 200,
      maxInFlight: 1,
      lingerMs: registerLingerMs,
      ...bound,
      ...observed('devices-load', observeBatch),
    });
    this.route = new DeviceLoadRoute(deviceLoad);
    this.seen = seen;
    this.now = now;
  }

  /**
   * `viewerId`: the subject of a valid viewer token, when the request carried one. A
   * segment-targeted experiment is served only to a request whose viewer is active in its
   * segments now (mayServe), checked on every such request: the device enters it then (its
   * value stored on first serve like any other), and a later request without a viewer, or
   * with a viewer outside the segments, gets no value and no exposure for it. The stored
   * value never changes: a member's request gets it back. A device that has not entered yet
   * is asked again next time.
   */
  async assign(deviceToken: string, viewerId: string | null = null): Promise<Assignment[]> {
    const experiments = await this.running.get();
    const { open, targeted } = this.split(experiments);
    const created = new Set<number>();
    const held = await this.held(deviceToken, open, created);
    let state = held.state;
    // Without a viewer no targeted value is served: targeting costs nothing then.
    let segments: ReadonlySet<string> | null = null;
    if (viewerId !== null && eligibleAny(firstSeenUs(state), targeted)) {
      segments = await this.viewerSegments(viewerId);
      const admitted = targeted.filter((e) => admits(e, segments!));
      if (!covers(state, admitted)) {
        // Entered through another replica since this one cached the device? Read it again
        // rather than store anew; then enter what is still missing.
        if (!held.fresh) state = await this.load(deviceToken, open, created);
        const entering = unstored(state, admitted);
        if (entering.length > 0) {
          state = await this.insert(deviceToken, entering, state, created);
          state = await this.rereadLost(deviceToken, entering, state);
        }
        this.cache.set(deviceToken, state);
      }
    }
    const seenUs = firstSeenUs(state);
    const out: Assignment[] = [];
    for (const e of experiments) {
      if (e.createdAtUs > seenUs || !mayServe(e, segments)) continue;
      const index = storedOption(state, e.id);
      const option = index === undefined ? undefined : e.options[index];
      if (index === undefined || option === undefined) continue;
      out.push({ experiment: e, optionIndex: index, value: option.value, isNew: created.has(e.id) });
    }
    return out;
  }

  /**
   * The device as this process holds it, read (and registered, for a new one) when it is not
   * in the cache or lacks a value in an open experiment; `fresh` when read by this request.
   *
   * Retention: a device last known as seen a day ago or more is read again too (it may have
   * been purged, or recorded by another process since) and recorded as seen, so a device
   * that stays in the cache for months is still kept; once a day per device, never per
   * request.
   */
  private async held(
    token: string,
    open: StoredExperiment[],
    created: Set<number>,
  ): Promise<{ state: DeviceState; fresh: boolean }> {
    const cached = this.cache.get(token);
    const nowUs = this.seen === undefined ? 0 : this.now() * 1000;
    const due = (s: DeviceState) => this.seen !== undefined && nowUs - lastSeenUs(s) >= US_PER_DAY;
    if (cached !== undefined && covers(cached, open) && !due(cached)) return { state: cached, fresh: false };
    let state = await this.load(token, open, created);
    if (due(state)) {
      this.seen!.record(token);
      state = withLastSeen(state, nowUs);
    }
    this.cache.set(token, state);
    return { state, fresh: true };
  }

  /**
   * The open and the targeted experiments of a running list, made once per list: the same
   * arrays for every request while the list is cached, so the registrations of concurrent
   * requests share a statement (DeviceLoader groups by the list's identity).
   */
  private split(experiments: StoredExperiment[]): Split {
    let split = this.splits.get(experiments);
    if (split === undefined) {
      split = { open: experiments.filter((e) => !isTargeted(e)), targeted: experiments.filter(isTargeted) };
      this.splits.set(experiments, split);
    }
    return split;
  }

  private async load(
    token: string,
    experiments: StoredExperiment[],
    created: Set<number>,
  ): Promise<DeviceState> {
    // States are immutable, so one the reader shares between concurrent requests for the
    // same device is safe to keep.
    let state = this.route.oneStatement() ? null : await this.reader.read(token);
    if (state === null) {
      const loaded = await this.devices.load(token, experiments);
      this.route.observe(loaded.registered);
      for (const id of loaded.created) created.add(id);
      state = loaded.state;
    } else this.route.observe(false);
    // A device known before, in an experiment it has no value in yet (one that became
    // visible to this process late); or one another replica registered at the same moment,
    // whose values are theirs: the insert keeps them and the re-read below fetches them.
    const missing = unstored(state, experiments);
    if (missing.length > 0) state = await this.insert(token, missing, state, created);
    return this.rereadLost(token, experiments, state);
  }

  /** Values a concurrent request stored first (its insert won): theirs is the value of record. */
  private async rereadLost(
    token: string,
    experiments: StoredExperiment[],
    state: DeviceState,
  ): Promise<DeviceState> {
    const lost = unstored(state, experiments);
    if (lost.length === 0) return state;
    const rows = await db(() =>
      this.pool.query<{ experiment_id: string; option_position: number }>({
        name: 'assignments-reread',
        text: `SELECT experiment_id, option_position FROM assignments
                WHERE device_token = $1 AND experiment_id = ANY($2::bigint[])`,
        values: [token, lost.map((e) => e.id)],
      }),
    );
    let out = state;
    for (const r of rows.rows) out = withStored(out, Number(r.experiment_id), r.option_position);
    return out;
  }

  private async insert(
    token: string,
    missing: StoredExperiment[],
    state: DeviceState,
    created: Set<number>,
  ): Promise<DeviceState> {
    const picks = missing.map((e) => pickFor(e, token));
    const inserted = await db(() =>
      this.pool.query<{ experiment_id: string }>({
        name: 'assignments-insert',
        text: `INSERT INTO assignments (device_token, experiment_id, option_position)
               SELECT $1, a.experiment_id, a.position FROM unnest($2::bigint[], $3::smallint[]) AS a (experiment_id, position)
               ON CONFLICT DO NOTHING
               RETURNING experiment_id`,
        values: [token, missing.map((e) => e.id), picks],
      }),
    );
    const ids = new Set(inserted.rows.map((r) => Number(r.experiment_id)));
    let out = state;
    missing.forEach((e, i) => {
      if (ids.has(e.id)) {
        out = withStored(out, e.id, picks[i]!);
        created.add(e.id);
      }
    });
    return out;
  }
}

/**
 * Whether the cached state holds a value for every running experiment the device is eligible
 * for: `unstored(...)` is empty, without building the list on the cached path.
 */
function covers(state: DeviceState, experiments: StoredExperiment[]): boolean {
  for (const e of experiments) {
    if (e.createdAtUs <= firstSeenUs(state) && !hasStored(state, e.id)) return false;
  }
  return true;
}

/** Whether a device first seen at `seenUs` is eligible for any of `experiments`. */
function eligibleAny(seenUs: number, experiments: StoredExperiment[]): boolean {
  for (const e of experiments) if (e.createdAtUs <= seenUs) return true;
  return false;
}
