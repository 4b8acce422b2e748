/**
 * SentencePiece's precompiled normalization rules (`precompiled_charsmap`, usually NMT-NFKC): a
 * darts-clone double-array trie over UTF-8 byte sequences whose leaves point into a blob of
 * NUL-terminated replacement strings. Hugging Face's `Precompiled` normalizer carries the same
 * blob. Normalization takes, at each position, the longest rule that matches; without one it
 * copies a character (a malformed byte becomes U+FFFD).
 *
 * Layout: uint32le trie size in bytes | trie units (uint32le) | replacement strings.
 */

export type Charsmap = {
  readonly units: Uint32Array;
  readonly replacements: Uint8Array;
};

export function parseCharsmap(blob: Uint8Array): Charsmap {
  if (blob.length <= 4) throw new Error("precompiled charsmap is shorter than its 4-byte header");
  const view = new DataView(blob.buffer, blob.byteOffset, blob.length);
  const trieSize = view.getUint32(0, true);
  if (trieSize + 4 > blob.length || trieSize % 4 !== 0) {
    throw new Error(`precompiled charsmap declares a ${trieSize}-byte trie in a ${blob.length}-byte blob`);
  }
  const units = new Uint32Array(trieSize / 4);
  for (let i = 0; i < units.length; i++) units[i] = view.getUint32(4 + 4 * i, true);
  return { units, replacements: blob.subarray(4 + trieSize) };
}

// darts-clone unit fields
const hasLeaf = (u: number) => ((u >>> 8) & 1) === 1;
const valueOf = (u: number) => u & 0x7fffffff;
const labelOf = (u: number) => u & 0x800000ff;
const offsetOf = (u: number) => (u >>> 10) << ((u & 0x200) >>> 6);

/** Longest rule matching `bytes` at `start`: its byte length and replacement offset, or length 0. */
function longestRule(map: Charsmap, bytes: Uint8Array, start: number): { length: number; value: number } {
  const units = map.units;
  let node = offsetOf(units[0]);
  let best = { length: 0, value: 0 };
  for (let i = start; i < bytes.length; i++) {
    node ^= bytes[i];
    const unit = units[node];
    if (unit === undefined || labelOf(unit) !== bytes[i]) break;
    node ^= offsetOf(unit);
    if (hasLeaf(unit)) best = { length: i - start + 1, value: valueOf(units[node]) };
  }
  return best;
}

/** Byte length of the UTF-8 character at `i`, or 0 when it is malformed. */
export function utf8CharLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  const n = b < 0x80
    ? 1
    : b >= 0xc2 && b < 0xe0
    ? 2
    : b >= 0xe0 && b < 0xf0
    ? 3
    : b >= 0xf0 && b < 0xf5
    ? 4
    : 0;
  if (n === 0 || i + n > bytes.length) return n === 1 ? 1 : 0;
  for (let k = 1; k < n; k++) if ((bytes[i + k] & 0xc0) !== 0x80) return 0;
  // overlong 3/4-byte forms and surrogates are malformed too
  if (n === 3 && ((b === 0xe0 && bytes[i + 1] < 0xa0) || (b === 0xed && bytes[i + 1] >= 0xa0))) return 0;
  if (n === 4 && ((b === 0xf0 && bytes[i + 1] < 0x90) || (b === 0xf4 && bytes[i + 1] >= 0x90))) return 0;
  return n;
}

const REPLACEMENT = new Uint8Array([0xef, 0xbf, 0xbd]);

/**
 * The normalized form of the prefix of `bytes` at `start`: the bytes to emit and how many input
 * bytes they consume (SentencePiece's NormalizePrefix, without user-defined symbols).
 */
export function normalizePrefix(
  map: Charsmap | undefined,
  bytes: Uint8Array,
  start: number,
): { out: Uint8Array; consumed: number } {
  if (map) {
    const rule = longestRule(map, bytes, start);
    if (rule.length > 0) {
      let end = rule.value;
      while (end < map.replacements.length && map.replacements[end] !== 0) end++;
      return { out: map.replacements.subarray(rule.value, end), consumed: rule.length };
    }
  }
  const n = utf8CharLength(bytes, start);
  if (n === 0) return { out: REPLACEMENT, consumed: 1 };
  return { out: bytes.subarray(start, start + n), consumed: n };
}

/** Applies the rules over a whole string (Hugging Face's `Precompiled` normalizer). */
export function applyCharsmap(map: Charsmap, text: string): string {
  const bytes = new TextEncoder().encode(text);
  const out: number[] = [];
  for (let i = 0; i < bytes.length;) {
    const p = normalizePrefix(map, bytes, i);
    for (const b of p.out) out.push(b);
    i += p.consumed;
  }
  return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array(out));
}
