/**
 * Hugging Face `tokenizer.json` files: added tokens with `normalized: false` are cut out of the raw
 * text, the rest is normalized, then added tokens with `normalized: true` (matched by their own
 * normalized content) are cut out, and what remains goes through pre-tokenizer -> model (BPE,
 * byte-level BPE, WordPiece, Unigram). Decoding maps ids back through the file's decoder. `encode`
 * adds no template tokens (BOS/CLS...): framing is examples.ts's job.
 *
 * The file is decoded at the door (hf_schema.ts, hf_models.ts): what `tokenizers` refuses to load
 * is a TokenizerError naming the field, and nothing is spread into call arguments, so vocabularies
 * of a million entries and words of any length load and encode.
 */
import { Effect } from "effect";
import { readFile } from "node:fs/promises";
import { buildNormalizer } from "./hf_normalizers.ts";
import { buildPreTokenizer } from "./hf_pretokenizers.ts";
import { buildModel, maxValue } from "./hf_models.ts";
import { buildDecoder } from "./hf_decoders.ts";
import { type AddedToken, TokenizerFile, TOP_LEVEL_KEYS } from "./hf_schema.ts";
import { decodeSyncResult } from "../schema_decode.ts";
import {
  checkIds,
  resolveSpecialIds,
  type SpecialTokenNames,
  type Tokenizer,
  TokenizerError,
} from "./tokenizer.ts";

/** Added tokens keyed by the text they match, with one alternation regex (longest first). */
type AddedMatcher = {
  readonly byText: ReadonlyMap<string, AddedToken>;
  readonly pattern: RegExp | undefined;
};

function addedMatcher(tokens: readonly AddedToken[], textOf: (t: AddedToken) => string): AddedMatcher {
  const byText = new Map<string, AddedToken>();
  for (const t of tokens) if (textOf(t).length > 0 && !byText.has(textOf(t))) byText.set(textOf(t), t);
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const alternatives = [...byText.keys()].sort((a, b) => b.length - a.length).map(escape);
  return {
    byText,
    pattern: alternatives.length === 0 ? undefined : new RegExp(alternatives.join("|"), "gu"),
  };
}

type Segment = { readonly text: string } | { readonly id: number };

const isWordChar = (ch: string | undefined) => ch !== undefined && /^[\p{L}\p{N}_]$/u.test(ch);

/** Cuts added tokens (longest first) out of `text`, absorbing whitespace for lstrip/rstrip tokens. */
function splitAddedTokens(text: string, { byText, pattern }: AddedMatcher): Segment[] {
  if (!pattern) return [{ text }];
  const segments: Segment[] = [];
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    const token = byText.get(m[0])!;
    let start = m.index!, end = start + m[0].length;
    if (start < last) continue;
    if (token.single_word && (isWordChar(text[start - 1]) || isWordChar(text[end]))) continue;
    if (token.lstrip) { while (start > last && /\p{White_Space}/u.test(text[start - 1])) start--; }
    if (token.rstrip) { while (end < text.length && /\p{White_Space}/u.test(text[end])) end++; }
    if (start > last) segments.push({ text: text.slice(last, start) });
    segments.push({ id: token.id });
    last = end;
  }
  if (last < text.length) segments.push({ text: text.slice(last) });
  return segments;
}

/** Runs a component builder, turning what it rejects (a regex, a charsmap) into a TokenizerError. */
function built<A>(source: string, field: string, build: () => A): A {
  try {
    return build();
  } catch (e) {
    if (e instanceof TokenizerError || e instanceof RangeError) throw e; // RangeError: our bug, not the file's
    throw new TokenizerError({ source, reason: `${field}: ${(e as Error).message}` });
  }
}

/** A `Tokenizer` from the parsed JSON of a tokenizer.json file; throws `TokenizerError` naming the field. */
export function hfTokenizer(json: unknown, source: string, names: SpecialTokenNames = {}): Tokenizer {
  const fail = (reason: string): never => {
    throw new TokenizerError({ source, reason });
  };
  if (typeof json !== "object" || json === null || Array.isArray(json)) {
    fail(
      `not a tokenizer.json (expected a JSON object, got ${Array.isArray(json) ? "an array" : typeof json})`,
    );
  }
  const raw = json as Record<string, unknown>;
  if (!("model" in raw)) fail('not a tokenizer.json (no "model" field)');
  const extra = Object.keys(raw).filter((k) => !TOP_LEVEL_KEYS.includes(k));
  if (extra.length > 0) {
    fail(`${extra[0]}: unknown field (a tokenizer.json has ${TOP_LEVEL_KEYS.join(", ")})`);
  }
  const decoded = decodeSyncResult(TokenizerFile, raw);
  if (decoded._tag === "Failure") return fail(decoded.failure);
  const file = decoded.success;
  const normalize = built(source, "normalizer", () => buildNormalizer(file.normalizer));
  const preTokenize = built(source, "pre_tokenizer", () => buildPreTokenizer(file.pre_tokenizer));
  const model = buildModel(raw.model as Record<string, unknown>, source);
  const decoder = built(source, "decoder", () => buildDecoder(file.decoder));
  const added: readonly AddedToken[] = file.added_tokens ?? [];
  const raws = addedMatcher(added.filter((t) => !t.normalized), (t) => t.content);
  const normalizedContent = new Map(
    added.filter((t) => t.normalized).map((t) => [t.id, normalize(t.content)]),
  );
  const onNormalized = addedMatcher(added.filter((t) => t.normalized), (t) => normalizedContent.get(t.id)!);
  // tokenizers decodes a normalized added token as its normalized text ("Mirasol" -> "mirasol")
  const addedText = new Map(added.map((t) => [t.id, normalizedContent.get(t.id) ?? t.content]));
  const tokenOf = (id: number) => addedText.get(id) ?? model.tokenOf(id);
  const specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
  const vocabSize = Math.max(model.size, maxValue(addedText.keys()) + 1);

  const encode = (text: string): Int32Array => {
    const out: number[] = [];
    splitAddedTokens(text, raws).forEach((seg, i) => {
      if ("id" in seg) return void out.push(seg.id);
      splitAddedTokens(normalize(seg.text), onNormalized).forEach((part, j) => {
        if ("id" in part) return void out.push(part.id);
        for (const word of preTokenize([part.text], i === 0 && j === 0)) model.tokenize(word, out);
      });
    });
    return Int32Array.from(out);
  };
  const decode = (ids: ArrayLike<number>): string => {
    checkIds(source, ids, vocabSize, (id) => tokenOf(id) !== undefined);
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) if (!specialIds.has(ids[i])) tokens.push(tokenOf(ids[i])!);
    return decoder ? decoder(tokens).join("") : tokens.join(" ");
  };
  const idOf = (token: string) => added.find((t) => t.content === token)?.id ?? model.idOf(token);
  return { name: source, vocabSize, special: resolveSpecialIds(source, idOf, names), encode, decode };
}

/** Loads a Hugging Face `tokenizer.json` from a local path. */
export function loadHfTokenizer(
  path: string,
  names: SpecialTokenNames = {},
): Effect.Effect<Tokenizer, TokenizerError> {
  return Effect.tryPromise({
    try: () => readFile(path, "utf8"),
    catch: (e) =>
      new TokenizerError({ source: path, reason: `cannot read the file (${(e as Error).message})` }),
  }).pipe(
    Effect.flatMap((text) =>
      Effect.try({
        try: () => {
          let json: unknown;
          try {
            json = JSON.parse(text);
          } catch (e) {
            throw new TokenizerError({ source: path, reason: `invalid JSON (${(e as Error).message})` });
          }
          return hfTokenizer(json, path, names);
        },
        catch: (e) => {
          if (e instanceof TokenizerError) return e;
          throw e; // a defect of this library, not of the file: let it surface as one
        },
      })
    ),
  );
}
