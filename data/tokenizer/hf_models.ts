/**
 * Hugging Face tokenizer.json models: one pre-tokenized word -> ids. BPE applies merges by rank
 * (lowest first, leftmost on ties), WordPiece takes the longest vocabulary prefix greedily, Unigram
 * runs the shared Viterbi search. Unknowns follow each model's options (unk token, fuse_unk,
 * byte_fallback), as the Rust library does.
 */
import { byteKey, viterbi } from "./unigram.ts";

export type Model = {
  readonly tokenize: (word: string) => number[];
  readonly vocab: ReadonlyMap<string, number>;
};

// deno-lint-ignore no-explicit-any
type Json = any;

const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;

function unknownHandler(vocab: ReadonlyMap<string, number>, spec: Json, unkId: number | undefined) {
  const encoder = new TextEncoder();
  /** ids for a character missing from the vocabulary, appended to `out` */
  return (ch: string, out: number[], previousWasUnknown: boolean): boolean => {
    if (spec.byte_fallback) {
      const ids = Array.from(encoder.encode(ch), (b) => vocab.get(byteToken(b)));
      if (ids.every((id) => id !== undefined)) {
        out.push(...(ids as number[]));
        return false;
      }
    }
    if (unkId === undefined) return false; // no unk token: the character is dropped, as in tokenizers
    if (!(spec.fuse_unk && previousWasUnknown)) out.push(unkId);
    return true;
  };
}

function bpe(spec: Json): Model {
  const vocab = new Map<string, number>(Object.entries(spec.vocab as Record<string, number>));
  const unkId = spec.unk_token != null ? vocab.get(spec.unk_token) : undefined;
  const prefix: string = spec.continuing_subword_prefix ?? "";
  const suffix: string = spec.end_of_word_suffix ?? "";
  // merges: ["a b", ...] (older files) or [["a", "b"], ...]
  const rank = new Map<string, number>();
  (spec.merges as (string | [string, string])[]).forEach((m, i) => {
    const [a, b] = typeof m === "string" ? m.split(" ") : m;
    const key = `${a} ${b}`;
    if (!rank.has(key)) rank.set(key, i);
  });
  const unknown = unknownHandler(vocab, spec, unkId);
  const cache = new Map<string, number[]>();
  const merge = (word: string): number[] => {
    if (spec.ignore_merges && vocab.has(word)) return [vocab.get(word)!];
    const chars = [...word];
    const symbols: string[] = [];
    const out: number[] = [];
    // symbols carry their prefix/suffix decorations so merged strings are vocabulary keys
    chars.forEach((ch, i) => {
      let s = i > 0 ? prefix + ch : ch;
      if (i === chars.length - 1) s += suffix;
      symbols.push(s);
    });
    const strip = (
      s: string,
      i: number,
    ) => (i > 0 && prefix && s.startsWith(prefix) ? s.slice(prefix.length) : s);
    for (;;) {
      let best = -1, bestRank = Infinity;
      for (let i = 0; i + 1 < symbols.length; i++) {
        const r = rank.get(`${symbols[i]} ${symbols[i + 1]}`);
        if (r !== undefined && r < bestRank) [best, bestRank] = [i, r];
      }
      if (best < 0) break;
      symbols.splice(best, 2, symbols[best] + strip(symbols[best + 1], 1));
    }
    let previousUnknown = false;
    for (const s of symbols) {
      const id = vocab.get(s);
      if (id !== undefined) {
        out.push(id);
        previousUnknown = false;
      } else {
        // an unmerged symbol not in the vocabulary is a single (decorated) character
        previousUnknown = unknown(s, out, previousUnknown);
      }
    }
    return out;
  };
  return {
    vocab,
    tokenize: (word) => {
      let ids = cache.get(word);
      if (ids === undefined) {
        ids = merge(word);
        if (cache.size < 10000) cache.set(word, ids);
      }
      return ids;
    },
  };
}

function wordPiece(spec: Json): Model {
  const vocab = new Map<string, number>(Object.entries(spec.vocab as Record<string, number>));
  const unkId = vocab.get(spec.unk_token ?? "[UNK]");
  const prefix: string = spec.continuing_subword_prefix ?? "##";
  const maxChars: number = spec.max_input_chars_per_word ?? 100;
  const unk = () => (unkId === undefined ? [] : [unkId]);
  return {
    vocab,
    tokenize: (word) => {
      const chars = [...word];
      if (chars.length > maxChars) return unk();
      const out: number[] = [];
      for (let start = 0; start < chars.length;) {
        let end = chars.length, found: number | undefined;
        for (; end > start; end--) {
          const piece = (start > 0 ? prefix : "") + chars.slice(start, end).join("");
          found = vocab.get(piece);
          if (found !== undefined) break;
        }
        if (found === undefined) return unk(); // one unmatched piece makes the whole word unknown
        out.push(found);
        start = end;
      }
      return out;
    },
  };
}

function unigram(spec: Json): Model {
  const entries = spec.vocab as [string, number][];
  const encoder = new TextEncoder();
  const vocab = new Map<string, number>();
  const byBytes = new Map<string, number>();
  let minScore = Infinity, maxPieceBytes = 1;
  entries.forEach(([piece, score], id) => {
    if (!vocab.has(piece)) vocab.set(piece, id);
    const key = byteKey(encoder.encode(piece));
    if (!byBytes.has(key)) byBytes.set(key, id);
    minScore = Math.min(minScore, score);
    maxPieceBytes = Math.max(maxPieceBytes, key.length);
  });
  const unkId: number | undefined = spec.unk_id ?? undefined;
  const search = {
    ids: byBytes,
    score: (id: number) => entries[id][1],
    unkScore: minScore - 10,
    maxPieceBytes,
    float32Sums: false,
  };
  return {
    vocab,
    tokenize: (word) => {
      const bytes = encoder.encode(word);
      const out: number[] = [];
      let previousUnknown = false;
      for (const seg of viterbi(search, bytes)) {
        if (seg.id >= 0) {
          out.push(seg.id);
          previousUnknown = false;
          continue;
        }
        if (spec.byte_fallback) {
          const ids = Array.from(bytes.subarray(seg.start, seg.end), (b) => vocab.get(byteToken(b)));
          if (ids.every((id) => id !== undefined)) {
            out.push(...(ids as number[]));
            previousUnknown = false;
            continue;
          }
        }
        if (unkId === undefined) {
          throw new Error(`Unigram model has no unk_id for unknown text in ${JSON.stringify(word)}`);
        }
        if (!previousUnknown) out.push(unkId); // tokenizers always fuses unknowns in Unigram
        previousUnknown = true;
      }
      return out;
    },
  };
}

export function buildModel(spec: Json): Model {
  switch (spec?.type) {
    case "BPE":
      return bpe(spec);
    case "WordPiece":
      return wordPiece(spec);
    case "Unigram":
      return unigram(spec);
    default:
      // tokenizer.json files written by old versions omit the type for BPE
      if (spec?.merges && spec?.vocab) return bpe(spec);
      throw new Error(
        `model type ${JSON.stringify(spec?.type)} is not supported (BPE, WordPiece and Unigram are)`,
      );
  }
}
