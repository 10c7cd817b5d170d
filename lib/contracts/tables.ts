import { STREAMS } from './contract-doc.js';
import { deadLetterRows } from './dead-letter.js';
import { viewerFieldOf, type AnyStream } from './stream.js';

/** Every stream that declares a ClickHouse table: the event streams, then the dead letters. */
export const TABLE_STREAMS: readonly AnyStream[] = [
  ...STREAMS.filter((s) => s.table !== undefined),
  deadLetterRows,
];

/** A ClickHouse table holding rows about viewers, and where it names them. */
export interface ViewerTable {
  table: string;
  /** The column holding the viewer id (UUID, maybe Nullable). */
  column: string;
  /** Text columns that may hold the id where `column` does not. */
  alsoIn: readonly string[];
}

/**
 * Every table with a column that identifies a viewer, derived from the stream definitions:
 * each stream's table, its read model when the model keeps that column, and its aggregates
 * keyed by it. Erasure deletes from exactly these, so a new stream with a viewer field is
 * erased without a list to edit.
 */
export function viewerTables(streams: readonly AnyStream[] = TABLE_STREAMS): ViewerTable[] {
  return streams.flatMap((s) => {
    const viewer = viewerFieldOf(s);
    if (s.table === undefined || viewer === undefined) return [];
    const derived = (table: string) => ({ table, column: viewer.name, alsoIn: [] });
    const model = s.readModel;
    return [
      { table: s.table.name, column: viewer.name, alsoIn: s.table.viewerAlsoIn ?? [] },
      ...(model !== undefined && model.columns.includes(viewer.name) ? [derived(model.name)] : []),
      ...(s.aggregates ?? []).filter((a) => a.keys.includes(viewer.name)).map((a) => derived(a.name)),
    ];
  });
}
