/**
 * A UUID as four 32-bit words, so ids live in typed arrays (16 bytes each) instead of
 * JS strings (~80+ bytes each with object overhead). Returns false for a malformed id.
 */
export function uuidToWords(id: string, out: Uint32Array, at = 0): boolean {
  if (id.length !== 36) return false;
  // charCode arithmetic, no substrings: this runs twice per row in the ETL's hot loop
  // (slices + parseInt showed in its CPU profile).
  let word = 0;
  let nibbles = 0;
  let w = at;
  for (let i = 0; i < 36; i++) {
    const c = id.charCodeAt(i);
    if (i === 8 || i === 13 || i === 18 || i === 23) {
      if (c !== 0x2d) return false; // '-'
      continue;
    }
    const v = c < 128 ? HEX[c]! : -1;
    if (v < 0) return false;
    word = (word << 4) | v;
    if (++nibbles === 8) {
      out[w++] = word >>> 0;
      word = 0;
      nibbles = 0;
    }
  }
  return true;
}

const HEX = new Int8Array(128).fill(-1);
for (let d = 0; d < 10; d++) HEX[0x30 + d] = d;
for (let d = 0; d < 6; d++) {
  HEX[0x41 + d] = 10 + d;
  HEX[0x61 + d] = 10 + d;
}

/** 32-bit mix of the four words (the words are already random for v4/v7/v8 ids). */
export function hashWords(w0: number, w1: number, w2: number, w3: number): number {
  let h = Math.imul(w0 ^ 0x9e3779b9, 0x85ebca6b) ^ w1;
  h = Math.imul(h ^ (h >>> 15), 0xc2b2ae35) ^ w2;
  h = Math.imul(h ^ (h >>> 13), 0x27d4eb2f) ^ w3;
  return (h ^ (h >>> 16)) >>> 0;
}
