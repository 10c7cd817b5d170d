import type { Experiment } from '../../../lib/contracts/experiment.js';
import { sharesOf } from './bucketing.js';
import type { StoredExperiment } from './experiment-store.js';

const iso = (us: number) => new Date(Math.floor(us / 1000)).toISOString();

/** The admin API's view of an experiment (the seed stays internal). */
export function experimentView(e: StoredExperiment): Experiment {
  const shares = sharesOf(e.options.map((o) => o.weight));
  return {
    key: e.key,
    description: e.description,
    status: e.status,
    created_at: iso(e.createdAtUs),
    stopped_at: e.stoppedAtUs === null ? null : iso(e.stoppedAtUs),
    options: e.options.map((o, i) => ({ value: o.value, weight: o.weight, share: shares[i]! })),
    segments: { include: e.include, exclude: e.exclude },
  };
}
