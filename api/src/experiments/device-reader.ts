import type { Pool } from 'pg';
import { db } from '../../../lib/db/errors.js';

/** What the database holds for one device: when it was first seen, its stored options. */
export interface DeviceState {
  firstSeenUs: number;
  /** experiment id → option position. */
  stored: Map<number, number>;
}

interface Waiter {
  resolve(state: DeviceState | null): void;
  reject(err: unknown): void;
}

interface Row {
  token: string;
  first_seen_us: string;
  experiment_id: string | null;
  option_position: number | null;
}

/**
 * Reads devices, coalescing the lookups of one event-loop turn into one query
 * (`token = ANY($1)`), as the Kafka publisher coalesces produces. Under load this turns
 * many round trips — each a few expensive syscalls on both sides — into one; when idle a
 * lookup waits only for the current turn to end.
 */
export class DeviceReader {
  private pending = new Map<string, Waiter[]>();
  private scheduled = false;

  constructor(
    private readonly pool: Pool,
    private readonly maxBatch = 500,
  ) {}

  read(token: string): Promise<DeviceState | null> {
    return new Promise((resolve, reject) => {
      const waiters = this.pending.get(token);
      if (waiters === undefined) this.pending.set(token, [{ resolve, reject }]);
      else waiters.push({ resolve, reject });
      if (this.pending.size >= this.maxBatch) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    void this.query([...batch.keys()]).then(
      (states) => {
        for (const [token, waiters] of batch) {
          for (const w of waiters) w.resolve(states.get(token) ?? null);
        }
      },
      (err: unknown) => {
        for (const waiters of batch.values()) for (const w of waiters) w.reject(err);
      },
    );
  }

  private async query(tokens: string[]): Promise<Map<string, DeviceState>> {
    const res = await db(() =>
      this.pool.query<Row>({
        name: 'devices-read',
        text: `SELECT d.token, (extract(epoch FROM d.first_seen_at) * 1000000)::bigint AS first_seen_us,
                      a.experiment_id, a.option_position
                 FROM devices d LEFT JOIN assignments a ON a.device_token = d.token
                WHERE d.token = ANY($1::text[])`,
        values: [tokens],
      }),
    );
    const states = new Map<string, DeviceState>();
    for (const r of res.rows) {
      let state = states.get(r.token);
      if (state === undefined) {
        state = { firstSeenUs: Number(r.first_seen_us), stored: new Map() };
        states.set(r.token, state);
      }
      if (r.experiment_id !== null) state.stored.set(Number(r.experiment_id), r.option_position!);
    }
    return states;
  }
}
