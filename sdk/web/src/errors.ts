/** Why the tracker dropped events or a read failed. */
export type TrackerErrorReason =
  /** The API refused a batch with a 4xx other than 429 (after one token refresh on 401). */
  | 'rejected'
  /** More than maxQueued events waited: the oldest were dropped. */
  | 'queue_full'
  /** Storage refused a write: the events stay queued in memory only (lost on a reload). */
  | 'storage'
  /** A read (resume, continueWatching) failed. */
  | 'request';

export class TrackerError extends Error {
  override readonly name = 'TrackerError';
  constructor(
    message: string,
    readonly reason: TrackerErrorReason,
    readonly details: {
      /** HTTP status, when the API answered. */
      status?: number;
      /** The API's error body (`{error: {code, message, details}}`), when it sent one. */
      body?: unknown;
      /** How many events were dropped. */
      dropped?: number;
      cause?: unknown;
    } = {},
  ) {
    super(message);
  }
}
