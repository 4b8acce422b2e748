/**
 * Hugging Face tokenizer.json models: one pre-tokenized word -> ids. BPE applies merges by rank
 * (lowest first, leftmost on ties) with a priority queue (bpe_merge.ts), WordPiece takes the longest
 * vocabulary prefix greedily, Unigram runs the shared Viterbi search; all are linear or n log n in
 * the word's length. Unknowns follow each model's options (unk token, fuse_unk, byte_fallback), as
 * the Rust library does, including its errors: an unknown character with an unk token missing from
 * the vocabulary fails the encode.
 *
 * The vocabulary and merges are checked here, while their tables are built, with the field path
 * of the first bad entry: `model.merges[12]: token "qq" is not in the vocabulary`.
 */
import { BpeModel, UnigramModel, WordPieceModel } from "./hf_schema.ts";
import { byteKey, viterbi } from "./unigram.ts";
import { mergeAll } from "./bpe_merge.ts";
import { pairTable } from "./pair_table.ts";
import { TokenizeError, TokenizerError } from "./tokenizer.ts";
import { decodeSyncResult, formatPath } from "../schema_decode.ts";

export type Model = {
  /** ids of one word, appended to `out` */
  readonly tokenize: (word: string, out: number[]) => void;
  readonly idOf: (token: string) => number | undefined;
  /** the token of an id (the first in the file when several share it) */
  readonly tokenOf: (id: number) => string | undefined;
  /** one past the largest id */
  readonly size: number;
};

const byteToken = (b: number) => `<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`;
const shown = (v: unknown) => v === undefined ? "nothing" : JSON.stringify(v) ?? String(v);
const MAX_ID = 2 ** 32 - 1; // ids are u32 in tokenizers

type Fail = (path: readonly PropertyKey[], message: string) => never;

/** id -> token: an array while ids are dense enough, else a Map (ids are u32, and may be sparse). */
function tokenTable(
  maxId: number,
): { set: (id: number, token: string) => void; get: (id: number) => string | undefined } {
  if (maxId < 1 << 24) {
    const byId: (string | undefined)[] = new Array(maxId + 1);
    return { set: (id, t) => void (byId[id] ??= t), get: (id) => byId[id] };
  }
  const byId = new Map<number, string>();
  return { set: (id, t) => void (byId.has(id) || byId.set(id, t)), get: (id) => byId.get(id) };
}

type Vocab = Pick<Model, "idOf" | "tokenOf" | "size">;

/**
 * `{token: id}`, every id a u32. Lookups go to the parsed object itself: V8 looks up the keys
 * JSON.parse made several times faster than a Map copy would, which matters at a million entries.
 */
function vocabOf(raw: unknown, fail: Fail): Vocab {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(
      ["model", "vocab"],
      `Expected an object of token -> id, got ${Array.isArray(raw) ? "an array" : shown(raw)}`,
    );
  }
  const entries = raw as Record<string, unknown>, keys = Object.keys(entries);
  let maxId = -1;
  for (const token of keys) {
    const id = entries[token];
    if (typeof id !== "number" || !Number.isInteger(id) || id < 0 || id > MAX_ID) {
      fail(["model", "vocab", token], `Expected an id (an integer in [0, 2^32)), got ${shown(id)}`);
    }
    if ((id as number) > maxId) maxId = id as number;
  }
  const byId = tokenTable(maxId);
  for (const token of keys) byId.set(entries[token] as number, token);
  return {
    // every own value is a number (checked above); what a token may inherit ("constructor",
    // "__proto__") is a function or an object, never a number
    idOf: (token) => {
      const id = entries[token];
      return typeof id === "number" ? id : undefined;
    },
    tokenOf: byId.get,
    size: maxId + 1,
  };
}

function unknownChars(source: string, vocab: Vocab, spec: BpeModel) {
  const encoder = new TextEncoder();
  const unkId = spec.unk_token != null ? vocab.idOf(spec.unk_token) : undefined;
  /** ids for a symbol missing from the vocabulary, appended to `out`; whether an UNK was added */
  return (s: string, out: number[], previousWasUnknown: boolean): boolean => {
    if (spec.byte_fallback) {
      const ids = Array.from(encoder.encode(s), (b) => vocab.idOf(byteToken(b)));
      if (ids.every((id) => id !== undefined)) {
        for (const id of ids) out.push(id!);
        return false;
      }
    }
    if (spec.unk_token == null) return false; // no unk token: the character is dropped, as in tokenizers
    if (unkId === undefined) {
      throw new TokenizeError({
        tokenizer: source,
        action: "encode",
        reason: `${JSON.stringify(s)} is not in the vocabulary and unk_token ${
          JSON.stringify(spec.unk_token)
        } is not either`,
      });
    }
    if (!(spec.fuse_unk && previousWasUnknown)) out.push(unkId);
    return true;
  };
}

function bpe(spec: BpeModel, raw: Record<string, unknown>, source: string, fail: Fail): Model {
  const vocab = vocabOf(raw.vocab, fail);
  const prefix = spec.continuing_subword_prefix ?? "", suffix = spec.end_of_word_suffix ?? "";
  if (!Array.isArray(raw.merges)) {
    fail(["model", "merges"], `Expected an array of merges, got ${shown(raw.merges)}`);
  }
  // pair (id a, id b) -> merge index (its rank); a later duplicate wins, as in tokenizers' HashMap
  const merges = raw.merges as unknown[];
  const mergedId = new Uint32Array(merges.length);
  const rank = pairTable(merges.length, (i) => {
    const m = merges[i];
    let a: unknown, b: unknown;
    if (typeof m === "string") {
      const space = m.indexOf(" ");
      if (space >= 0 && m.indexOf(" ", space + 1) < 0) [a, b] = [m.slice(0, space), m.slice(space + 1)];
    } else if (Array.isArray(m) && m.length === 2) [a, b] = m;
    if (typeof a !== "string" || typeof b !== "string") {
      return fail(["model", "merges", i], `Expected "a b" or ["a", "b"], got ${shown(m)}`);
    }
    const merged = a + (prefix && b.startsWith(prefix) ? b.slice(prefix.length) : b);
    const ia = vocab.idOf(a), ib = vocab.idOf(b), im = vocab.idOf(merged);
    if (ia === undefined || ib === undefined || im === undefined) {
      const missing = ia === undefined ? a : ib === undefined ? b : merged;
      return fail(["model", "merges", i], `token ${JSON.stringify(missing)} is not in the vocabulary`);
    }
    mergedId[i] = im;
    return [ia, ib, i];
  });
  const unknown = unknownChars(source, vocab, spec);
  const pair = (a: number, b: number) => {
    const i = rank.get(a, b);
    return i === undefined ? undefined : { priority: i, merged: mergedId[i] };
  };
  const merge = (word: string, out: number[]) => {
    const whole = spec.ignore_merges ? vocab.idOf(word) : undefined;
    if (whole !== undefined) return void out.push(whole);
    const chars = [...word];
    // tokenizers' merge_word: each character (decorated with the prefix and suffix) is a symbol;
    // unknown ones become byte tokens or UNK before any merge, runs of UNK fused with fuse_unk
    const symbols: number[] = [];
    let previousUnknown = false;
    chars.forEach((ch, i) => {
      let s = i > 0 ? prefix + ch : ch;
      if (i === chars.length - 1) s += suffix;
      const id = vocab.idOf(s);
      if (id !== undefined) {
        symbols.push(id);
        previousUnknown = false;
      } else previousUnknown = unknown(s, symbols, previousUnknown);
    });
    for (const id of mergeAll(symbols, pair)) out.push(id);
  };
  const cache = new Map<string, number[]>();
  return {
    ...vocab,
    tokenize: (word, out) => {
      const hit = cache.get(word);
      if (hit !== undefined) {
        for (const id of hit) out.push(id);
        return;
      }
      if (word.length > 256) return merge(word, out); // long words are rare: not worth their memory
      const ids: number[] = [];
      merge(word, ids);
      if (cache.size < 10_000) cache.set(word, ids);
      for (const id of ids) out.push(id);
    },
  };
}

/** The largest of many numbers, without spreading them into call arguments (the stack has limits). */
export function maxValue(values: Iterable<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return max;
}

function wordPiece(spec: WordPieceModel, raw: Record<string, unknown>, source: string, fail: Fail): Model {
  const vocab = vocabOf(raw.vocab, fail);
  const unkId = vocab.idOf(spec.unk_token);
  const prefix = spec.continuing_subword_prefix, maxChars = spec.max_input_chars_per_word;
  let longest = 1; // in UTF-16 units, an upper bound in code points: a word scans in O(length x longest)
  for (const token of Object.keys(raw.vocab as object)) longest = Math.max(longest, token.length);
  const unk = (out: number[]) => {
    if (unkId === undefined) {
      throw new TokenizeError({
        tokenizer: source,
        action: "encode",
        reason: `a word is not in the vocabulary and unk_token ${
          JSON.stringify(spec.unk_token)
        } is not either`,
      });
    }
    out.push(unkId);
  };
  return {
    ...vocab,
    tokenize: (word, out) => {
      const offsets: number[] = []; // code-unit offset of each code point, and the end
      for (let i = 0; i < word.length; i += word.codePointAt(i)! > 0xffff ? 2 : 1) offsets.push(i);
      offsets.push(word.length);
      const n = offsets.length - 1;
      if (n > maxChars) return unk(out);
      const ids: number[] = [];
      for (let start = 0; start < n;) {
        let found: number | undefined, end = Math.min(n, start + longest);
        for (; end > start; end--) {
          found = vocab.idOf((start > 0 ? prefix : "") + word.slice(offsets[start], offsets[end]));
          if (found !== undefined) break;
        }
        if (found === undefined) return unk(out); // one unmatched piece makes the whole word unknown
        ids.push(found);
        start = end;
      }
      for (const id of ids) out.push(id);
    },
  };
}

function unigram(spec: UnigramModel, raw: Record<string, unknown>, source: string, fail: Fail): Model {
  if (!Array.isArray(raw.vocab)) {
    fail(["model", "vocab"], `Expected an array of [piece, score], got ${shown(raw.vocab)}`);
  }
  const entries = raw.vocab as unknown[];
  const encoder = new TextEncoder();
  const vocab = new Map<string, number>(), byBytes = new Map<string, number>();
  const scores = new Float64Array(entries.length);
  let minScore = Infinity, maxPieceBytes = 1;
  entries.forEach((e, id) => {
    if (!Array.isArray(e) || e.length !== 2 || typeof e[0] !== "string" || typeof e[1] !== "number") {
      fail(["model", "vocab", id], `Expected [piece, score], got ${shown(e)}`);
    }
    const [piece, score] = e as [string, number];
    if (!vocab.has(piece)) vocab.set(piece, id);
    const key = byteKey(encoder.encode(piece));
    if (!byBytes.has(key)) byBytes.set(key, id);
    scores[id] = score;
    minScore = Math.min(minScore, score);
    maxPieceBytes = Math.max(maxPieceBytes, key.length);
  });
  const unkId = spec.unk_id ?? undefined;
  const byteId = (b: number) => vocab.get(byteToken(b));
  if (unkId !== undefined && unkId >= entries.length) {
    fail(["model", "unk_id"], `${unkId} is not the id of one of the ${entries.length} pieces`);
  }
  const search = {
    ids: byBytes,
    score: (id: number) => scores[id],
    unkScore: minScore - 10,
    maxPieceBytes,
    float32Sums: false,
  };
  return {
    idOf: (token) => vocab.get(token),
    tokenOf: (id) => (entries[id] as [string, number] | undefined)?.[0],
    size: entries.length,
    tokenize: (word, out) => {
      const bytes = encoder.encode(word);
      let previousUnknown = false;
      for (const seg of viterbi(search, bytes)) {
        if (seg.id >= 0) {
          out.push(seg.id);
          previousUnknown = false;
          continue;
        }
        if (spec.byte_fallback) {
          const ids = Array.from(bytes.subarray(seg.start, seg.end), byteId);
          if (ids.every((id) => id !== undefined)) {
            for (const id of ids) out.push(id!);
            previousUnknown = false;
            continue;
          }
        }
        if (unkId === undefined) {
          throw new TokenizeError({
            tokenizer: source,
            action: "encode",
            reason: `${
              JSON.stringify(word)
            } has a character no piece covers, and the Unigram model has no unk_id`,
          });
        }
        if (!previousUnknown) out.push(unkId); // tokenizers always fuses unknowns in Unigram
        previousUnknown = true;
      }
    },
  };
}

/** The model of a tokenizer.json (`raw` is its `model` object); throws TokenizerError naming the field. */
export function buildModel(raw: Record<string, unknown>, source: string): Model {
  const fail: Fail = (path, message) => {
    throw new TokenizerError({ source, reason: `${formatPath(path)}: ${message}` });
  };
  const decode = <S extends typeof BpeModel | typeof WordPieceModel | typeof UnigramModel>(schema: S) => {
    const r = decodeSyncResult(schema, raw, { root: "model", fieldPrefix: "model." });
    if (r._tag === "Failure") throw new TokenizerError({ source, reason: r.failure });
    return r.success as S["Type"];
  };
  switch (raw.type) {
    case undefined: // tokenizer.json files written by old versions omit the type of BPE models
    case "BPE":
      return bpe(decode(BpeModel), raw, source, fail);
    case "WordPiece":
      return wordPiece(decode(WordPieceModel), raw, source, fail);
    case "Unigram":
      return unigram(decode(UnigramModel), raw, source, fail);
    default:
      return fail(["model", "type"], `${shown(raw.type)} is not supported (BPE, WordPiece and Unigram are)`);
  }
}
