/**
 * The suppression list in ClickHouse: one row per erased viewer, written by the erasure job
 * (api/src/erasure/) before it deletes anything, read by every ETL instance. Replicated to
 * every node and never sharded, so any node answers the whole list. It holds the viewer id
 * and nothing else about the viewer: without the id nothing could be suppressed.
 */
export const ERASED_VIEWERS_TABLE = 'erased_viewers';
