import { userEventStream } from '../../contracts/user-event.js';
import { createStreamTable } from '../stream-table.js';
import type { Migration } from './migration.js';

/** user_events, as lib/contracts/user-event.ts declares it. */
export const userEventsMigration: Migration = {
  version: 2,
  name: 'user action events',
  statements: (ctx) => createStreamTable(ctx, userEventStream),
};
