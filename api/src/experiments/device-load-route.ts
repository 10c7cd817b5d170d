/** How the API loads a device it does not hold (EXPERIMENTS_DEVICE_LOAD). */
export type DeviceLoadMode = 'adaptive' | 'lookup-first' | 'one-statement';

export interface DeviceLoadRouteOptions {
  /** Weight of each load in the moving share of new devices (an EWMA). */
  alpha: number;
  /** One statement from this share of new devices up… */
  enterAbove: number;
  /** …until the share falls to this (hysteresis, so a share near one bound does not flap). */
  leaveBelow: number;
}

const DEFAULTS: DeviceLoadRouteOptions = { alpha: 1 / 128, enterAbove: 0.75, leaveBelow: 0.5 };

/**
 * Chooses, per device load, between the two ways of loading a device the API does not hold:
 *
 * - lookup first: a read (two in flight, so reads overlap), then the read-or-register
 *   statement only for a device the read did not find;
 * - one statement: straight to read-or-register (one in flight: it may commit, and what
 *   arrives meanwhile shares the next one).
 *
 * For new devices one statement saves a round trip and PostgreSQL's CPU; for returning devices
 * it costs latency, because reads then wait behind one another (architecture/adr/0006). So
 * `adaptive` follows the share of new devices among the loads (an EWMA over ~128 loads) and takes one
 * statement only while most are new (a launch, a campaign); a mix like the benchmark's
 * (a third of the loads new) stays on lookup first. Starts on lookup first.
 */
export class DeviceLoadRoute {
  private share = 0;
  private one = false;
  private readonly opts: DeviceLoadRouteOptions;

  constructor(
    private readonly mode: DeviceLoadMode = 'adaptive',
    opts: Partial<DeviceLoadRouteOptions> = {},
  ) {
    this.opts = { ...DEFAULTS, ...opts };
  }

  /** Whether the next load goes straight to the read-or-register statement. */
  oneStatement(): boolean {
    if (this.mode === 'adaptive') return this.one;
    return this.mode === 'one-statement';
  }

  /** Told, for every device loaded from the database, whether it was new (registered by the load). */
  observe(wasNew: boolean): void {
    this.share += this.opts.alpha * ((wasNew ? 1 : 0) - this.share);
    if (this.one) {
      if (this.share <= this.opts.leaveBelow) this.one = false;
    } else if (this.share >= this.opts.enterAbove) this.one = true;
  }

  /** The moving share of new devices among loads (0–1). */
  newShare(): number {
    return this.share;
  }
}
