/**
 * Hugging Face `tokenizer.json` files: added tokens with `normalized: false` are cut out of the raw
 * text, the rest is normalized, then added tokens with `normalized: true` (matched by their own
 * normalized content) are cut out, and what remains goes through pre-tokenizer -> model (BPE,
 * byte-level BPE, WordPiece, Unigram). Decoding maps ids back through the file's decoder. `encode` adds no template tokens (BOS/CLS...):
 * framing is examples.ts's job.
 */
import { Effect } from "effect";
import { readFile } from "node:fs/promises";
import { buildNormalizer } from "./hf_normalizers.ts";
import { buildPreTokenizer } from "./hf_pretokenizers.ts";
import { buildModel } from "./hf_models.ts";
import { buildDecoder } from "./hf_decoders.ts";
import { resolveSpecialIds, type SpecialTokenNames, type Tokenizer, TokenizerError } from "./tokenizer.ts";

type AddedToken = {
  readonly id: number;
  readonly content: string;
  readonly special: boolean;
  readonly lstrip: boolean;
  readonly rstrip: boolean;
  readonly single_word: boolean;
  readonly normalized: boolean;
};

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
    if (token.lstrip) { while (start > last && /\s/u.test(text[start - 1])) start--; }
    if (token.rstrip) { while (end < text.length && /\s/u.test(text[end])) end++; }
    if (start > last) segments.push({ text: text.slice(last, start) });
    segments.push({ id: token.id });
    last = end;
  }
  if (last < text.length) segments.push({ text: text.slice(last) });
  return segments;
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** A `Tokenizer` from the parsed JSON of a tokenizer.json file; throws `TokenizerError`. */
export function hfTokenizer(json: Json, source: string, names: SpecialTokenNames = {}): Tokenizer {
  const fail = (reason: string): never => {
    throw new TokenizerError({ source, reason });
  };
  if (typeof json !== "object" || json === null || !json.model) {
    fail('not a tokenizer.json (no "model" field)');
  }
  let pieces;
  try {
    pieces = {
      normalize: buildNormalizer(json.normalizer),
      preTokenize: buildPreTokenizer(json.pre_tokenizer),
      model: buildModel(json.model),
      decoder: buildDecoder(json.decoder),
    };
  } catch (e) {
    return fail((e as Error).message);
  }
  const { normalize, preTokenize, model, decoder } = pieces;
  const added: AddedToken[] = (json.added_tokens ?? []).map((t: Json) => ({
    id: t.id,
    content: t.content,
    special: t.special ?? false,
    lstrip: t.lstrip ?? false,
    rstrip: t.rstrip ?? false,
    single_word: t.single_word ?? false,
    normalized: t.normalized ?? !(t.special ?? false),
  }));
  const raw = addedMatcher(added.filter((t) => !t.normalized), (t) => t.content);
  const normalizedContent = new Map(
    added.filter((t) => t.normalized).map((t) => [t.id, normalize(t.content)]),
  );
  const onNormalized = addedMatcher(added.filter((t) => t.normalized), (t) => normalizedContent.get(t.id)!);
  const tokenOf = new Map<number, string>();
  for (const [token, id] of model.vocab) if (!tokenOf.has(id)) tokenOf.set(id, token);
  // tokenizers decodes a normalized added token as its normalized text ("Mirasol" -> "mirasol")
  for (const t of added) tokenOf.set(t.id, normalizedContent.get(t.id) ?? t.content);
  const specialIds = new Set(added.filter((t) => t.special).map((t) => t.id));
  const vocabSize = Math.max(...tokenOf.keys()) + 1;

  const encode = (text: string): Int32Array => {
    const out: number[] = [];
    splitAddedTokens(text, raw).forEach((seg, i) => {
      if ("id" in seg) return void out.push(seg.id);
      splitAddedTokens(normalize(seg.text), onNormalized).forEach((part, j) => {
        if ("id" in part) return void out.push(part.id);
        for (const word of preTokenize([part.text], i === 0 && j === 0)) out.push(...model.tokenize(word));
      });
    });
    return Int32Array.from(out);
  };
  const decode = (ids: ArrayLike<number>): string => {
    const tokens: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const token = tokenOf.get(ids[i]);
      if (token !== undefined && !specialIds.has(ids[i])) tokens.push(token);
    }
    return decoder ? decoder(tokens).join("") : tokens.join(" ");
  };
  const idOf = (token: string) => added.find((t) => t.content === token)?.id ?? model.vocab.get(token);
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
        try: () => hfTokenizer(JSON.parse(text), path, names),
        catch: (e) =>
          e instanceof TokenizerError
            ? e
            : new TokenizerError({ source: path, reason: `invalid JSON (${(e as Error).message})` }),
      })
    ),
  );
}
