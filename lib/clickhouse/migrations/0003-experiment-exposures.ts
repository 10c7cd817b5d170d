import { exposureStream } from '../../contracts/exposure.js';
import { createStreamTable } from '../stream-table.js';
import type { Migration } from './migration.js';

/** experiment_exposures, as lib/contracts/exposure.ts declares it. */
export const exposuresMigration: Migration = {
  version: 3,
  name: 'experiment exposures',
  statements: (ctx) => createStreamTable(ctx, exposureStream),
};
