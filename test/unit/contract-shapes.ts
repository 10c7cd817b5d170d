import { randomUUID } from 'node:crypto';
import type { ProgressMessage } from '../../lib/contracts/progress.js';

/**
 * A deterministic generator (a failure reproduces) of values around the contract checks'
 * edges, shared by the tests of the fast checks and of the byte checks.
 */
export function shapes(seed: number) {
  let state = seed;
  const rand = (): number => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 2 ** 32;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const digits = (n: number) => Array.from({ length: n }, () => String(Math.floor(rand() * 10))).join('');
  const pad = (n: number, w: number) => String(n).padStart(w, '0');
  /** Digits anywhere in range or just outside it, so calendar edges are hit often. */
  const dateTimeShape = (): string => {
    const year = pick(['2024', '2023', '2000', '1900', '2100', '0000', '9999', digits(4)]);
    const month = pad(Math.floor(rand() * 14), 2);
    const day = pad(Math.floor(rand() * 33), 2);
    const hour = pad(Math.floor(rand() * 26), 2);
    const minute = pad(Math.floor(rand() * 62), 2);
    const second = pad(Math.floor(rand() * 62), 2);
    const fraction = pick(['', '.', `.${digits(1)}`, `.${digits(3)}`, `.${digits(7)}`, '.1a']);
    const zone = pick(['Z', 'Z', 'Z', 'z', '+01:00', '', 'ZZ']);
    const sep = pick(['T', 'T', 'T', 't', ' ']);
    return `${year}-${month}-${day}${sep}${hour}:${minute}:${second}${fraction}${zone}`;
  };
  /** A valid progress message, times anywhere in 1970 … 2100. */
  const progress = (): ProgressMessage => {
    const ms = Math.floor(rand() * 4_102_444_800_000);
    return {
      schema_version: 1,
      event_id: randomUUID(),
      viewer_id: randomUUID(),
      film_id: randomUUID(),
      position_sec: Math.floor(rand() * 7200),
      duration_sec: 1 + Math.floor(rand() * 7200),
      occurred_at: new Date(ms).toISOString(),
      received_at: new Date(ms + 1000).toISOString(),
    };
  };
  return { rand, pick, dateTimeShape, progress };
}
