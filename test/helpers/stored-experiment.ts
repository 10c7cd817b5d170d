import type { StoredExperiment } from '../../api/src/experiments/experiment-store.js';

/** A running, untargeted experiment as the API holds it, created at time 0 (every device eligible). */
export function storedExperiment(id: number, weights: number[]): StoredExperiment {
  return {
    id,
    key: `e${id}`,
    description: '',
    seed: `seed-${id}`,
    status: 'running',
    createdAtUs: 0,
    stoppedAtUs: null,
    options: weights.map((weight, i) => ({ value: i, weight })),
    include: [],
    exclude: [],
  };
}
