/**
 * A UUID as four 32-bit words, so ids live in typed arrays (16 bytes each) instead of
 * JS strings (~80+ bytes each with object overhead). Returns false for a malformed id.
 */
export function uuidToWords(id: string, out: Uint32Array, at = 0): boolean {
  if (id.length !== 36) return false;
  const hex = id.slice(0, 8) + id.slice(9, 13) + id.slice(14, 18) + id.slice(19, 23) + id.slice(24, 36);
  for (let w = 0; w < 4; w++) {
    const v = Number.parseInt(hex.slice(w * 8, w * 8 + 8), 16);
    if (Number.isNaN(v)) return false;
    out[at + w] = v >>> 0;
  }
  return true;
}

/** 32-bit mix of the four words (the words are already random for v4/v7/v8 ids). */
export function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ w3;
  return (h ^ (h >>> 16)) >>> 0;
}
