import type { Pool } from 'pg';
import type { DeviceRow } from '../../api/src/experiments/device-reader.js';

/**
 * An in-memory database double: devices and assignments, for the statements
 * AssignmentService sends; `names` records each statement's name. `known`: devices stored
 * before (first seen and last recorded as seen, µs); a device registered here is first seen
 * at `nowUs()` (10 µs by default).
 */
export function memoryDatabase(
  names: string[],
  known: Record<string, { firstSeenUs: number; lastSeenUs?: number }> = {},
  nowUs: () => number = () => 10,
): { pool: Pool; stored: Map<string, Map<number, number>> } {
  const stored = new Map<string, Map<number, number>>(Object.keys(known).map((t) => [t, new Map()]));
  const seen = new Map<string, { firstSeenUs: number; lastSeenUs?: number }>(Object.entries(known));
  type Row = DeviceRow & { registered?: boolean };
  const rowsOf = (token: string, registered?: boolean): Row[] => {
    const held = [...stored.get(token)!];
    const { firstSeenUs, lastSeenUs } = seen.get(token)!;
    const times = {
      first_seen_us: String(firstSeenUs),
      last_seen_us: lastSeenUs === undefined ? null : String(lastSeenUs),
    };
    const extra = registered === undefined ? {} : { registered };
    if (held.length === 0) return [{ token, ...times, experiment_id: null, option_position: null, ...extra }];
    return held.map(([e, p]) => ({
      token,
      ...times,
      experiment_id: String(e),
      option_position: p,
      ...extra,
    }));
  };
  const pool = {
    query: async (q: { name: string; values: unknown[] }) => {
      names.push(q.name);
      if (q.name === 'devices-read') {
        const tokens = q.values[0] as string[];
        return { rows: tokens.filter((t) => stored.has(t)).flatMap((t) => rowsOf(t)) };
      }
      if (q.name === 'devices-load') {
        const [tokens, aTokens, aExperiments, aPositions] = q.values as [
          string[],
          string[],
          number[],
          number[],
        ];
        const rows: Row[] = [];
        for (const t of tokens) {
          const registered = !stored.has(t);
          if (registered) {
            seen.set(t, { firstSeenUs: nowUs() });
            const held = new Map<number, number>();
            aTokens.forEach((at, i) => {
              if (at === t) held.set(aExperiments[i]!, aPositions[i]!);
            });
            stored.set(t, held);
          }
          rows.push(...rowsOf(t, registered));
        }
        return { rows };
      }
      if (q.name === 'assignments-insert') {
        const [token, ids, picks] = q.values as [string, number[], number[]];
        const held = stored.get(token)!;
        const inserted = ids.filter((id, i) => {
          if (held.has(id)) return false;
          held.set(id, picks[i]!);
          return true;
        });
        return { rows: inserted.map((id) => ({ experiment_id: String(id) })) };
      }
      if (q.name === 'assignments-reread') {
        const [token, ids] = q.values as [string, number[]];
        const held = stored.get(token)!;
        return {
          rows: ids
            .filter((id) => held.has(id))
            .map((id) => ({ experiment_id: String(id), option_position: held.get(id) })),
        };
      }
      throw new Error(`unexpected statement ${q.name}`);
    },
  } as unknown as Pool;
  return { pool, stored };
}
