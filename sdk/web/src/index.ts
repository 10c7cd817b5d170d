/**
 * Web SDK for players: progress and user events batched, persisted across reloads, retried
 * (exactly once on the server thanks to client event ids) and flushed when the tab closes.
 */
export { createTracker, type Tracker, type TrackerOptions } from './tracker.js';
export { TrackerError, type TrackerErrorReason } from './errors.js';
export type { ContinueWatchingItem, Position } from './reads.js';
export type { TrackerEnv } from './env.js';
