/**
 * The shape of a Hugging Face `tokenizer.json`, as `Schema`s: the fields the Rust library requires
 * are required here too (a file it refuses is refused here, naming the field), optional ones have
 * the library's defaults where they are read. Extra keys inside a component are ignored, as serde
 * does; extra keys at the top level are refused, as `Tokenizer::from_str` does. The model's
 * vocabulary and merges are left `Unknown` here and checked while their tables are built
 * (hf_models.ts), because a Schema pass over a million entries would double the load time.
 */
import { Schema } from "effect";
import { NonNegativeInt } from "../schema_decode.ts";

const oneChar = (s: string) => [...s].length === 1 || `Expected one character, got ${JSON.stringify(s)}`;
const Char = Schema.String.check(Schema.makeFilter(oneChar));

/** `{"String": "..."}` is matched literally, `{"Regex": "..."}` as a regular expression. */
export const Pattern = Schema.Union([
  Schema.Struct({ String: Schema.String }),
  Schema.Struct({ Regex: Schema.String }),
]).annotate({ expected: 'a pattern ({"String": ...} or {"Regex": ...})' });
export type Pattern = typeof Pattern.Type;

export const SplitBehavior = Schema.Literals(
  ["Removed", "Isolated", "MergedWithPrevious", "MergedWithNext", "Contiguous"] as const,
);
const PrependScheme = Schema.Literals(["always", "never", "first"] as const);
const type = <T extends string>(t: T) => ({ type: Schema.Literal(t) });
const bare = <T extends string>(...names: T[]) => names.map((t) => Schema.Struct(type(t)));

// ---- normalizers
export type Normalizer =
  | { readonly type: "NFC" | "NFD" | "NFKC" | "NFKD" | "Lowercase" | "StripAccents" | "ByteLevel" }
  | {
    readonly type: "BertNormalizer";
    readonly clean_text: boolean;
    readonly handle_chinese_chars: boolean;
    readonly strip_accents?: boolean | null;
    readonly lowercase: boolean;
  }
  | { readonly type: "Strip"; readonly strip_left: boolean; readonly strip_right: boolean }
  | { readonly type: "Replace"; readonly pattern: Pattern; readonly content: string }
  | { readonly type: "Prepend"; readonly prepend: string }
  | { readonly type: "Precompiled"; readonly precompiled_charsmap?: string | null }
  | { readonly type: "Sequence"; readonly normalizers: readonly Normalizer[] };

export const Normalizer: Schema.Codec<Normalizer> = Schema.Union([
  ...bare("NFC", "NFD", "NFKC", "NFKD", "Lowercase", "StripAccents", "ByteLevel"),
  Schema.Struct({
    ...type("BertNormalizer"),
    clean_text: Schema.Boolean,
    handle_chinese_chars: Schema.Boolean,
    strip_accents: Schema.optionalKey(Schema.NullOr(Schema.Boolean)),
    lowercase: Schema.Boolean,
  }),
  Schema.Struct({ ...type("Strip"), strip_left: Schema.Boolean, strip_right: Schema.Boolean }),
  Schema.Struct({ ...type("Replace"), pattern: Pattern, content: Schema.String }),
  Schema.Struct({ ...type("Prepend"), prepend: Schema.String }),
  Schema.Struct({
    ...type("Precompiled"),
    precompiled_charsmap: Schema.optionalKey(Schema.NullOr(Schema.String)),
  }),
  Schema.Struct({
    ...type("Sequence"),
    normalizers: Schema.Array(Schema.suspend((): Schema.Codec<Normalizer> => Normalizer)),
  }),
]).annotate({
  expected:
    "a normalizer of type NFC, NFD, NFKC, NFKD, Lowercase, StripAccents, ByteLevel, BertNormalizer, " +
    "Strip, Replace, Prepend, Precompiled or Sequence",
});

// ---- pre-tokenizers
export type PreTokenizer =
  | { readonly type: "Whitespace" | "WhitespaceSplit" | "BertPreTokenizer" }
  | {
    readonly type: "ByteLevel";
    readonly add_prefix_space: boolean;
    readonly trim_offsets: boolean;
    readonly use_regex?: boolean;
  }
  | { readonly type: "Punctuation"; readonly behavior?: typeof SplitBehavior.Type }
  | { readonly type: "Digits"; readonly individual_digits: boolean }
  | { readonly type: "CharDelimiterSplit"; readonly delimiter: string }
  | {
    readonly type: "Split";
    readonly pattern: Pattern;
    readonly behavior: typeof SplitBehavior.Type;
    readonly invert: boolean;
  }
  | {
    readonly type: "Metaspace";
    readonly replacement: string;
    readonly prepend_scheme?: typeof PrependScheme.Type;
    readonly split?: boolean;
    readonly add_prefix_space?: boolean;
  }
  | { readonly type: "Sequence"; readonly pretokenizers: readonly PreTokenizer[] };

const MetaspaceFields = {
  ...type("Metaspace"),
  replacement: Char,
  prepend_scheme: Schema.optionalKey(PrependScheme),
  split: Schema.optionalKey(Schema.Boolean),
  add_prefix_space: Schema.optionalKey(Schema.Boolean), // files written before prepend_scheme existed
};

export const PreTokenizer: Schema.Codec<PreTokenizer> = Schema.Union([
  ...bare("Whitespace", "WhitespaceSplit", "BertPreTokenizer"),
  Schema.Struct({
    ...type("ByteLevel"),
    add_prefix_space: Schema.Boolean,
    trim_offsets: Schema.Boolean,
    use_regex: Schema.optionalKey(Schema.Boolean),
  }),
  Schema.Struct({ ...type("Punctuation"), behavior: Schema.optionalKey(SplitBehavior) }),
  Schema.Struct({ ...type("Digits"), individual_digits: Schema.Boolean }),
  Schema.Struct({ ...type("CharDelimiterSplit"), delimiter: Char }),
  Schema.Struct({ ...type("Split"), pattern: Pattern, behavior: SplitBehavior, invert: Schema.Boolean }),
  Schema.Struct(MetaspaceFields),
  Schema.Struct({
    ...type("Sequence"),
    pretokenizers: Schema.Array(Schema.suspend((): Schema.Codec<PreTokenizer> => PreTokenizer)),
  }),
]).annotate({
  expected:
    "a pre-tokenizer of type ByteLevel, Whitespace, WhitespaceSplit, BertPreTokenizer, Punctuation, " +
    "Digits, CharDelimiterSplit, Split, Metaspace or Sequence",
});

// ---- decoders
export type Decoder =
  | { readonly type: "ByteFallback" | "Fuse" }
  | {
    readonly type: "ByteLevel";
    readonly add_prefix_space: boolean;
    readonly trim_offsets: boolean;
    readonly use_regex?: boolean;
  }
  | { readonly type: "WordPiece"; readonly prefix: string; readonly cleanup: boolean }
  | {
    readonly type: "Metaspace";
    readonly replacement: string;
    readonly prepend_scheme?: typeof PrependScheme.Type;
    readonly split?: boolean;
    readonly add_prefix_space?: boolean;
  }
  | { readonly type: "BPEDecoder"; readonly suffix: string }
  | { readonly type: "Replace"; readonly pattern: Pattern; readonly content: string }
  | { readonly type: "Strip"; readonly content: string; readonly start: number; readonly stop: number }
  | { readonly type: "Sequence"; readonly decoders: readonly Decoder[] };

export const Decoder: Schema.Codec<Decoder> = Schema.Union([
  ...bare("ByteFallback", "Fuse"),
  Schema.Struct({
    ...type("ByteLevel"),
    add_prefix_space: Schema.Boolean,
    trim_offsets: Schema.Boolean,
    use_regex: Schema.optionalKey(Schema.Boolean),
  }),
  Schema.Struct({ ...type("WordPiece"), prefix: Schema.String, cleanup: Schema.Boolean }),
  Schema.Struct(MetaspaceFields),
  Schema.Struct({ ...type("BPEDecoder"), suffix: Schema.String }),
  Schema.Struct({ ...type("Replace"), pattern: Pattern, content: Schema.String }),
  Schema.Struct({ ...type("Strip"), content: Char, start: NonNegativeInt, stop: NonNegativeInt }),
  Schema.Struct({
    ...type("Sequence"),
    decoders: Schema.Array(Schema.suspend((): Schema.Codec<Decoder> => Decoder)),
  }),
]).annotate({
  expected: "a decoder of type ByteLevel, WordPiece, Metaspace, BPEDecoder, Replace, ByteFallback, Fuse, " +
    "Strip or Sequence",
});

// ---- models (vocab and merges are checked by hf_models.ts)
const Probability = Schema.Number.check(
  Schema.makeFilter((p: number) => (p >= 0 && p <= 1) || `Expected a dropout between 0 and 1, got ${p}`),
);

export const BpeModel = Schema.Struct({
  type: Schema.optionalKey(Schema.Literal("BPE")),
  dropout: Schema.optionalKey(Schema.NullOr(Probability)),
  unk_token: Schema.optionalKey(Schema.NullOr(Schema.String)),
  continuing_subword_prefix: Schema.optionalKey(Schema.NullOr(Schema.String)),
  end_of_word_suffix: Schema.optionalKey(Schema.NullOr(Schema.String)),
  fuse_unk: Schema.optionalKey(Schema.Boolean),
  byte_fallback: Schema.optionalKey(Schema.Boolean),
  ignore_merges: Schema.optionalKey(Schema.Boolean),
  vocab: Schema.Unknown,
  merges: Schema.Unknown,
});
export const WordPieceModel = Schema.Struct({
  ...type("WordPiece"),
  unk_token: Schema.String,
  continuing_subword_prefix: Schema.String,
  max_input_chars_per_word: NonNegativeInt,
  vocab: Schema.Unknown,
});
export const UnigramModel = Schema.Struct({
  ...type("Unigram"),
  unk_id: Schema.optionalKey(Schema.NullOr(NonNegativeInt)),
  byte_fallback: Schema.optionalKey(Schema.Boolean),
  vocab: Schema.Unknown,
});
export type BpeModel = typeof BpeModel.Type;
export type WordPieceModel = typeof WordPieceModel.Type;
export type UnigramModel = typeof UnigramModel.Type;

// ---- the file
export const AddedToken = Schema.Struct({
  id: NonNegativeInt,
  content: Schema.String,
  single_word: Schema.Boolean,
  lstrip: Schema.Boolean,
  rstrip: Schema.Boolean,
  normalized: Schema.Boolean,
  special: Schema.Boolean,
});
export type AddedToken = typeof AddedToken.Type;

const PostProcessor = Schema.Struct({
  type: Schema.Literals(
    ["TemplateProcessing", "BertProcessing", "RobertaProcessing", "ByteLevel", "Sequence"] as const,
  ),
});

/** Everything but the model, which is dispatched on its `type` by hf_models.ts. */
export const TokenizerFile = Schema.Struct({
  version: Schema.optionalKey(Schema.Literal("1.0")),
  truncation: Schema.optionalKey(Schema.NullOr(Schema.Struct({}))),
  padding: Schema.optionalKey(Schema.NullOr(Schema.Struct({}))),
  added_tokens: Schema.optionalKey(Schema.Array(AddedToken)),
  normalizer: Schema.optionalKey(Schema.NullOr(Normalizer)),
  pre_tokenizer: Schema.optionalKey(Schema.NullOr(PreTokenizer)),
  post_processor: Schema.optionalKey(Schema.NullOr(PostProcessor)),
  decoder: Schema.optionalKey(Schema.NullOr(Decoder)),
  model: Schema.Struct({}),
});
export type TokenizerFile = typeof TokenizerFile.Type;

/** The top-level keys tokenizers accepts; any other is refused. */
export const TOP_LEVEL_KEYS: readonly string[] = [
  "version",
  "truncation",
  "padding",
  "added_tokens",
  "normalizer",
  "pre_tokenizer",
  "post_processor",
  "decoder",
  "model",
];
