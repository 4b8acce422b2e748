/**
 * Viterbi segmentation under a unigram language model (Kudo 2018), shared by SentencePiece
 * unigram models and Hugging Face `Unigram`. Positions are UTF-8 byte offsets and candidates are
 * tried shortest first, with a later candidate replacing an earlier one only on a strictly better
 * score: the tie-breaking of SentencePiece's EncodeOptimized, so equal-score segmentations match.
 */

export type UnigramVocab = {
  /** piece (UTF-8 bytes as a latin1 key) -> id, for every piece that may appear in a segmentation */
  readonly ids: ReadonlyMap<string, number>;
  /** score of each id (log probability, or SentencePiece's user-defined bonus) */
  readonly score: (id: number, byteLength: number) => number;
  /** score of an unknown character: the lowest piece score minus 10 (kUnkPenalty) */
  readonly unkScore: number;
  /** longest piece, in bytes, so the search stops early */
  readonly maxPieceBytes: number;
  /** sum path scores in float32 as SentencePiece does (Hugging Face sums in float64) */
  readonly float32Sums: boolean;
};

/** A piece of the best segmentation: its bytes [start, end) and its id, -1 for an unknown char. */
export type Segment = { readonly start: number; readonly end: number; readonly id: number };

/** latin1 view of a byte range: a cheap, collision-free Map key for byte strings */
export function byteKey(bytes: Uint8Array, start = 0, end = bytes.length): string {
  if (end - start <= 16) { // most pieces: a loop beats allocating a view
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]);
    return s;
  }
  // fromCharCode takes its codes as call arguments: pass them in bounded chunks, never all at once
  const parts: string[] = [];
  for (let i = start; i < end; i += 4096) {
    parts.push(
      String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + 4096)) as unknown as number[]),
    );
  }
  return parts.join("");
}

function charLength(bytes: Uint8Array, i: number): number {
  const b = bytes[i];
  const n = b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;
  return Math.min(n, bytes.length - i);
}

export function viterbi(vocab: UnigramVocab, bytes: Uint8Array): Segment[] {
  const size = bytes.length;
  const bestScore = new Float64Array(size + 1);
  const startsAt = new Int32Array(size + 1).fill(-1);
  const bestId = new Int32Array(size + 1).fill(-1);
  const sum = vocab.float32Sums
    ? (a: number, b: number) => Math.fround(a + b)
    : (a: number, b: number) => a + b;
  const offer = (end: number, start: number, id: number, score: number) => {
    if (startsAt[end] === -1 || score > bestScore[end]) {
      bestScore[end] = score;
      startsAt[end] = start;
      bestId[end] = id;
    }
  };
  for (let start = 0; start < size;) {
    const here = bestScore[start];
    const charLen = charLength(bytes, start);
    let hasSingleChar = false;
    let key = "";
    for (let end = start + 1; end <= size && end - start <= vocab.maxPieceBytes; end++) {
      key += String.fromCharCode(bytes[end - 1]);
      const id = vocab.ids.get(key);
      if (id === undefined) continue;
      offer(end, start, id, sum(here, vocab.score(id, end - start)));
      if (end - start === charLen) hasSingleChar = true;
    }
    if (!hasSingleChar) offer(start + charLen, start, -1, sum(here, vocab.unkScore));
    start += charLen;
  }
  const segments: Segment[] = [];
  for (let end = size; end > 0; end = startsAt[end]) {
    segments.push({ start: startsAt[end], end, id: bestId[end] });
  }
  return segments.reverse();
}
