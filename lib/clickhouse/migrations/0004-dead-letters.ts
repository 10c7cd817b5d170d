import { deadLetterRows } from '../../contracts/dead-letter.js';
import { createStreamTable } from '../stream-table.js';
import type { Migration } from './migration.js';

/** dead_letters, as lib/contracts/dead-letter.ts declares it. */
export const deadLettersMigration: Migration = {
  version: 4,
  name: 'dead letters',
  statements: (ctx) => createStreamTable(ctx, deadLetterRows),
};
