/**
 * A hash table from pairs of token ids (a, b) to an int, in typed arrays: BPE's merge ranks for
 * vocabularies of a million entries, where a Map keyed by `a * V + b` (heap numbers past 2^31)
 * or by strings spends most of the load time allocating. Open addressing, linear probing; the
 * table is built once and only read afterwards.
 */

export type PairTable = {
  readonly get: (a: number, b: number) => number | undefined;
  readonly size: number;
};

/** Multiplicative mixing of the two ids into one 32-bit slot index. */
const hash = (a: number, b: number) =>
  (Math.imul(a, 0x9e3779b1) ^ Math.imul(b + 0x7f4a7c15, 0x85ebca77)) >>> 0;

/**
 * A table over `n` pairs given by `pairAt(i) -> [a, b, value]` (value an int32); a later pair
 * replaces an earlier equal one.
 */
export function pairTable(n: number, pairAt: (i: number) => readonly [number, number, number]): PairTable {
  let capacity = 16;
  while (capacity < 2 * n) capacity *= 2;
  const mask = capacity - 1;
  // ids are u32: keys in Uint32Arrays, occupancy apart (no id value is free to mean "empty")
  const used = new Uint8Array(capacity), keyA = new Uint32Array(capacity), keyB = new Uint32Array(capacity);
  const value = new Int32Array(capacity);
  let size = 0;
  for (let i = 0; i < n; i++) {
    const [a, b, v] = pairAt(i);
    let slot = hash(a, b) & mask;
    while (used[slot] && (keyA[slot] !== a || keyB[slot] !== b)) slot = (slot + 1) & mask;
    if (!used[slot]) size++;
    used[slot] = 1;
    keyA[slot] = a;
    keyB[slot] = b;
    value[slot] = v;
  }
  return {
    size,
    get: (a, b) => {
      for (let slot = hash(a, b) & mask;; slot = (slot + 1) & mask) {
        if (!used[slot]) return undefined;
        if (keyA[slot] === a && keyB[slot] === b) return value[slot];
      }
    },
  };
}
