/**
 * SentencePiece `.model` files (Kudo & Richardson 2018): a ModelProto read with the code generated
 * from sentencepiece's own schema (protobuf_reader.ts), then the normalizer (precompiled charsmap, dummy prefix, whitespace escaping as U+2581)
 * and the unigram (Viterbi) or BPE (score-ordered merges with a priority queue, unused pieces
 * split back) segmentation of the C++ library, with byte fallback and runs of unknown characters
 * fused into one UNK as it does. Both are linear or n log n in the text's length.
 *
 * A model the library refuses to load (no or two unknown pieces, a piece defined twice or empty, a
 * byte piece without byte_fallback, fewer than 256 byte pieces with it, a broken charsmap) is a
 * TokenizerError here too; special ids are those of the trainer's bos/eos/pad pieces when they are
 * control pieces, as `SentencePieceProcessor.bos_id()` finds them.
 */
import { Effect } from "effect";
import { readFile } from "node:fs/promises";
import { readSentencePieceProto, type SentencePieceProto } from "./protobuf_reader.ts";
import { type Charsmap, normalizePrefix, parseCharsmap } from "./charsmap.ts";
import { byteKey, viterbi } from "./unigram.ts";
import { mergeAll } from "./bpe_merge.ts";
import {
  checkIds,
  resolveSpecialIds,
  type SpecialTokenNames,
  type Tokenizer,
  TokenizerError,
} from "./tokenizer.ts";

const NORMAL = 1, UNKNOWN = 2, CONTROL = 3, USER_DEFINED = 4, UNUSED = 5, BYTE = 6;
const SPACE = new Uint8Array([0xe2, 0x96, 0x81]); // U+2581, SentencePiece's visible space
const UNKNOWN_PENALTY = 10;
const FLT_MIN = 1.1754943508222875e-38; // max_score_ starts here in unigram_model.cc

type Piece = { readonly text: string; readonly key: string; readonly score: number; readonly type: number };

export type SentencePieceModel = {
  readonly pieces: readonly Piece[];
  readonly modelType: "unigram" | "bpe";
  readonly byteFallback: boolean;
  readonly treatWhitespaceAsSuffix: boolean;
  /** unk: the UNKNOWN piece; bos/eos/pad: the trainer's named pieces when they are CONTROL, else -1 */
  readonly ids: { readonly unk: number; readonly bos: number; readonly eos: number; readonly pad: number };
  readonly unkSurface: string;
  readonly charsmap: Charsmap | undefined;
  readonly addDummyPrefix: boolean;
  readonly removeExtraWhitespaces: boolean;
  readonly escapeWhitespaces: boolean;
};

/** Reads a ModelProto; throws `TokenizerError` for a model this reader cannot segment with. */
export function parseSentencePieceModel(bytes: Uint8Array, source: string): SentencePieceModel {
  let proto: SentencePieceProto;
  try {
    proto = readSentencePieceProto(bytes);
  } catch (e) {
    throw new TokenizerError({ source, reason: `not a SentencePiece ModelProto (${(e as Error).message})` });
  }
  const {
    modelType,
    byteFallback,
    unkSurface,
    names,
    addDummyPrefix,
    removeExtraWhitespaces,
    escapeWhitespaces,
  } = proto;
  const [suffix, charsmap] = [proto.treatWhitespaceAsSuffix, proto.precompiledCharsmap];
  const encoder = new TextEncoder();
  const pieces: Piece[] = proto.pieces.map((p) => ({ ...p, key: byteKey(encoder.encode(p.text)) }));
  const fail = (reason: string): never => {
    throw new TokenizerError({ source, reason });
  };
  if (pieces.length === 0) fail("the model has no pieces");
  if (modelType !== 1 && modelType !== 2) {
    const name = ["", "unigram", "bpe", "word", "char"][modelType] ?? `type ${modelType}`;
    fail(`${name} models are not supported (unigram and bpe are)`);
  }
  // model_interface.cc InitializePieces: what the library refuses to load (a piece defined twice
  // is found where the piece tables are built, in sentencePieceTokenizer)
  let unk = -1;
  pieces.forEach((p, i) => {
    if (p.text === "") fail(`piece ${i} is empty`);
    if (p.type === UNKNOWN) {
      if (unk >= 0) fail(`pieces ${unk} and ${i} are both the unknown piece`);
      unk = i;
    }
    if (p.type === BYTE) {
      if (!byteFallback) {
        fail(`byte piece ${JSON.stringify(p.text)} is found although byte_fallback is false`);
      }
      if (!/^<0x[0-9A-F]{2}>$/.test(p.text)) fail(`byte piece ${JSON.stringify(p.text)} is not <0xHH>`);
    }
  });
  if (unk < 0) fail("no piece is the unknown piece (type UNKNOWN)");
  const controlId = (name: string) => {
    const i = pieces.findIndex((p) => p.text === name && p.type === CONTROL);
    return i;
  };
  const ids = { unk, bos: controlId(names.bos), eos: controlId(names.eos), pad: controlId(names.pad) };
  let parsedMap: Charsmap | undefined;
  try {
    parsedMap = charsmap && charsmap.length > 0 ? parseCharsmap(charsmap) : undefined;
  } catch (e) {
    throw new TokenizerError({ source, reason: (e as Error).message });
  }
  return {
    pieces,
    modelType: modelType === 1 ? "unigram" : "bpe",
    byteFallback,
    treatWhitespaceAsSuffix: suffix,
    ids,
    unkSurface,
    charsmap: parsedMap,
    addDummyPrefix,
    removeExtraWhitespaces,
    escapeWhitespaces,
  };
}

/** Longest user-defined symbol at `start`, in bytes (0 when none): such symbols are never normalized. */
function userSymbolAt(
  symbols: ReadonlySet<string>,
  maxBytes: number,
  bytes: Uint8Array,
  start: number,
): number {
  let best = 0, key = "";
  for (let end = start + 1; end <= bytes.length && end - start <= maxBytes; end++) {
    key += String.fromCharCode(bytes[end - 1]);
    if (symbols.has(key)) best = end - start;
  }
  return best;
}

/** normalizer.cc Normalize: the bytes the model segments. */
function normalize(
  m: SentencePieceModel,
  symbols: ReadonlySet<string>,
  maxSymbol: number,
  text: string,
): Uint8Array {
  const input = new TextEncoder().encode(text);
  const prefixAt = (i: number) => {
    const user = symbols.size > 0 ? userSymbolAt(symbols, maxSymbol, input, i) : 0;
    return user > 0
      ? { out: input.subarray(i, i + user), consumed: user }
      : normalizePrefix(m.charsmap, input, i);
  };
  const isSpace = (b: Uint8Array) => b.length === 1 && b[0] === 0x20;
  let pos = 0;
  if (m.removeExtraWhitespaces) {
    while (pos < input.length) {
      const p = prefixAt(pos);
      if (!isSpace(p.out)) break;
      pos += p.consumed;
    }
  }
  if (pos >= input.length) return new Uint8Array(0);
  const out: number[] = [];
  const space = m.escapeWhitespaces ? SPACE : new Uint8Array([0x20]);
  if (!m.treatWhitespaceAsSuffix && m.addDummyPrefix) out.push(...space);
  let prevSpace = m.removeExtraWhitespaces;
  while (pos < input.length) {
    const p = prefixAt(pos);
    let s = 0;
    while (prevSpace && s < p.out.length && p.out[s] === 0x20) s++;
    if (s < p.out.length) {
      for (let k = s; k < p.out.length; k++) {
        if (p.out[k] === 0x20 && m.escapeWhitespaces) out.push(...SPACE);
        else out.push(p.out[k]);
      }
      prevSpace = p.out[p.out.length - 1] === 0x20;
    }
    pos += p.consumed;
    if (!m.removeExtraWhitespaces) prevSpace = false;
  }
  if (m.removeExtraWhitespaces) {
    const endsWithSpace = () =>
      out.length >= space.length && space.every((b, k) => out[out.length - space.length + k] === b);
    while (endsWithSpace()) out.length -= space.length;
  }
  if (m.treatWhitespaceAsSuffix && m.addDummyPrefix) out.push(...space);
  return new Uint8Array(out);
}

/**
 * bpe_model.cc Encode: merge the adjacent pair whose union has the best score (leftmost first)
 * until none is a piece, then split each unused piece back into the two it was merged from.
 */
function bpeSegments(
  pieceIds: ReadonlyMap<string, number>,
  pieces: readonly Piece[],
  symbols: ReadonlySet<string>,
  maxSymbol: number,
  bytes: Uint8Array,
): string[] {
  const isUnused = (key: string) => {
    const id = pieceIds.get(key);
    return id !== undefined && pieces[id].type === UNUSED;
  };
  const parts: string[] = [], frozen: boolean[] = [];
  for (let i = 0; i < bytes.length;) {
    const user = symbols.size > 0 ? userSymbolAt(symbols, maxSymbol, bytes, i) : 0;
    const n = user > 0 ? user : Math.min(bytes.length - i, charBytes(bytes[i]));
    parts.push(byteKey(bytes, i, i + n));
    frozen.push(user > 0);
    i += n;
  }
  const split = new Map<string, [string, string]>(); // rev_merge: unused piece -> its two halves
  const pair = (a: string, b: string) => {
    const id = pieceIds.get(a + b);
    if (id === undefined) return undefined;
    if (pieces[id].type === UNUSED) split.set(a + b, [a, b]);
    return { priority: -pieces[id].score, merged: a + b };
  };
  const out: string[] = [];
  const resegment = (w: string) => {
    const halves = isUnused(w) ? split.get(w) : undefined;
    if (halves === undefined) return void out.push(w);
    resegment(halves[0]);
    resegment(halves[1]);
  };
  for (const w of mergeAll(parts, pair, undefined, (i) => frozen[i])) resegment(w);
  return out;
}

const charBytes = (b: number) => b < 0x80 ? 1 : b < 0xe0 ? 2 : b < 0xf0 ? 3 : 4;

/** A `Tokenizer` over a parsed model. */
export function sentencePieceTokenizer(
  m: SentencePieceModel,
  source: string,
  names: SpecialTokenNames = {},
): Tokenizer {
  const normalIds = new Map<string, number>(); // NORMAL, USER_DEFINED, UNUSED: what segmentation may produce
  const reservedIds = new Map<string, number>(); // UNKNOWN, CONTROL, BYTE: looked up first, as PieceToId does
  const segmentable = new Map<string, number>(); // unigram: the normal pieces but UNUSED ones
  const userSymbols = new Set<string>();
  let minScore = Infinity, maxScore = FLT_MIN, maxPieceBytes = 1, maxSymbol = 0;
  m.pieces.forEach((p, id) => {
    const normal = p.type === NORMAL || p.type === USER_DEFINED || p.type === UNUSED;
    const table = normal ? normalIds : reservedIds;
    if (table.has(p.key)) {
      throw new TokenizerError({
        source,
        reason: `piece ${id} ${JSON.stringify(p.text)} is already defined`,
      });
    }
    table.set(p.key, id);
    if (m.modelType === "unigram" && normal && p.type !== UNUSED) segmentable.set(p.key, id);
    if (p.type === USER_DEFINED) {
      userSymbols.add(p.key);
      maxSymbol = Math.max(maxSymbol, p.key.length);
    }
    if (p.type === NORMAL) [minScore, maxScore] = [Math.min(minScore, p.score), Math.max(maxScore, p.score)];
    if (normal) maxPieceBytes = Math.max(maxPieceBytes, p.key.length);
  });
  const idOfKey = (key: string) => reservedIds.get(key) ?? normalIds.get(key) ?? m.ids.unk;
  const byteIds = new Int32Array(256).fill(-1);
  if (m.byteFallback) {
    for (let b = 0; b < 256; b++) {
      const id = reservedIds.get(`<0x${b.toString(16).toUpperCase().padStart(2, "0")}>`);
      if (id === undefined) {
        throw new TokenizerError({
          source,
          reason: `byte_fallback is set but piece <0x${b.toString(16)}> is missing`,
        });
      }
      byteIds[b] = id;
    }
  }
  const unigramVocab = {
    ids: segmentable,
    score: (id: number, byteLength: number) =>
      m.pieces[id].type === USER_DEFINED ? Math.fround(byteLength * maxScore - 0.1) : m.pieces[id].score,
    unkScore: Math.fround(minScore - UNKNOWN_PENALTY),
    maxPieceBytes,
    float32Sums: true,
  };

  const encode = (text: string): Int32Array => {
    const bytes = normalize(m, userSymbols, maxSymbol, text);
    const segments: [key: string, id: number][] = m.modelType === "unigram"
      ? viterbi(unigramVocab, bytes).map((s) => [byteKey(bytes, s.start, s.end), s.id < 0 ? m.ids.unk : s.id])
      : bpeSegments(normalIds, m.pieces, userSymbols, maxSymbol, bytes).map((key) => [key, idOfKey(key)]);
    const out: number[] = [];
    let previousUnknown = false;
    for (const [key, id] of segments) {
      const unknown = id === m.ids.unk;
      if (unknown && m.byteFallback) {
        for (let i = 0; i < key.length; i++) out.push(byteIds[key.charCodeAt(i)]);
      } else if (!(unknown && previousUnknown)) {
        out.push(id); // a run of unknown pieces becomes one UNK
      }
      previousUnknown = unknown && !m.byteFallback;
    }
    return Int32Array.from(out);
  };

  const decode = (ids: ArrayLike<number>): string => {
    checkIds(source, ids, m.pieces.length);
    const utf8 = new TextDecoder("utf-8", { ignoreBOM: true }); // a leading U+FEFF is text, not a mark
    let text = "", pendingBytes: number[] = [], atStart = true;
    const stripLeading = m.addDummyPrefix && !m.treatWhitespaceAsSuffix;
    const emit = (s: string) => {
      if (s.length === 0) return;
      if (atStart && stripLeading && s.startsWith(" ")) s = s.slice(1);
      atStart = false;
      text += s;
    };
    const flush = () => {
      if (pendingBytes.length > 0) emit(utf8.decode(new Uint8Array(pendingBytes)).replaceAll("\u2581", " "));
      pendingBytes = [];
    };
    for (let i = 0; i < ids.length; i++) {
      const p = m.pieces[ids[i]];
      if (p.type === BYTE) {
        pendingBytes.push(parseInt(p.text.slice(3, 5), 16));
        continue;
      }
      flush();
      if (p.type === CONTROL) continue;
      emit(p.type === UNKNOWN ? m.unkSurface : p.text.replaceAll("\u2581", " "));
    }
    flush();
    return text;
  };

  const pieceId = (token: string) => {
    const key = byteKey(new TextEncoder().encode(token));
    return reservedIds.get(key) ?? normalIds.get(key);
  };
  const special = resolveSpecialIds(source, pieceId, names, {
    bos: m.ids.bos,
    eos: m.ids.eos,
    pad: m.ids.pad,
  });
  return { name: source, vocabSize: m.pieces.length, special, encode, decode };
}

/** Loads a SentencePiece `.model` file (unigram or BPE). */
export function loadSentencePiece(
  path: string,
  names: SpecialTokenNames = {},
): Effect.Effect<Tokenizer, TokenizerError> {
  return Effect.tryPromise({
    try: () => readFile(path),
    catch: (e) =>
      new TokenizerError({ source: path, reason: `cannot read the file (${(e as Error).message})` }),
  }).pipe(
    Effect.flatMap((bytes) =>
      Effect.try({
        try: () => sentencePieceTokenizer(parseSentencePieceModel(new Uint8Array(bytes), path), path, names),
        catch: (e) =>
          e instanceof TokenizerError ? e : new TokenizerError({ source: path, reason: String(e) }),
      })
    ),
  );
}
