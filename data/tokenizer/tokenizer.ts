/**
 * The text side of the pipeline: a `Tokenizer` turns a string into int32 ids and back. Every
 * implementation (bytes, Hugging Face tokenizer.json, SentencePiece .model) is a plain record of
 * closures over its vocabulary, so a tokenizer can be shared freely between fibers.
 */
import { Data } from "effect";

/** Ids of the tokens the pipeline inserts itself (examples.ts): never produced by `encode`. */
export type SpecialIds = {
  readonly bos: number;
  readonly eos: number;
  readonly pad: number;
  /** between the question and the answer of a QA example */
  readonly sep: number;
};

export type Tokenizer = {
  /** what it was loaded from, for messages ("byte", a file path) */
  readonly name: string;
  /** ids are in [0, vocabSize) */
  readonly vocabSize: number;
  readonly special: SpecialIds;
  /**
   * ids of `text` without any special token added (Hugging Face's add_special_tokens=False).
   * Throws TokenizeError where the reference library fails too (an unknown character and no
   * usable unknown token).
   */
  readonly encode: (text: string) => Int32Array;
  /**
   * the text of `ids`, leaving out special tokens (skip_special_tokens=True). Throws
   * TokenizeError for an id that names no token (outside [0, vocabSize), not an integer).
   */
  readonly decode: (ids: ArrayLike<number>) => string;
};

export class TokenizerError extends Data.TaggedError("TokenizerError")<{
  readonly source: string;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot load tokenizer ${this.source}: ${this.reason}`;
  }
}

/** Encoding or decoding failed: an id that names no token, or text the vocabulary cannot cover. */
export class TokenizeError extends Data.TaggedError("TokenizeError")<{
  readonly tokenizer: string;
  readonly action: "encode" | "decode";
  readonly reason: string;
}> {
  override get message() {
    return `Cannot ${this.action} with tokenizer ${this.tokenizer}: ${this.reason}`;
  }
}

/**
 * Throws TokenizeError unless every id is an integer in [0, vocabSize) that `known` accepts (a
 * vocabulary may have holes). Decoding an id the model cannot have produced is a bug upstream, not
 * text to drop silently.
 */
export function checkIds(
  tokenizer: string,
  ids: ArrayLike<number>,
  vocabSize: number,
  known: (id: number) => boolean = () => true,
): void {
  for (let i = 0; i < ids.length; i++) {
    const id = ids[i];
    if (Number.isInteger(id) && id >= 0 && id < vocabSize && known(id)) continue;
    const why = Number.isInteger(id) && id >= 0 && id < vocabSize
      ? "names no token in the vocabulary"
      : `is outside [0, ${vocabSize})`;
    throw new TokenizeError({ tokenizer, action: "decode", reason: `id ${id} at position ${i} ${why}` });
  }
}

/** Names a caller may give for the special tokens, overriding the conventional ones. */
export type SpecialTokenNames = {
  readonly bos?: string;
  readonly eos?: string;
  readonly pad?: string;
  readonly sep?: string;
};

/** The names tried in order when the caller gives none (BERT, RoBERTa/BART, T5/Llama, GPT-2). */
const CONVENTIONAL: Record<keyof SpecialIds, readonly string[]> = {
  bos: ["<s>", "[CLS]", "<bos>", "<|startoftext|>", "<|begin_of_text|>", "<|endoftext|>"],
  eos: ["</s>", "[SEP]", "<eos>", "<|endoftext|>", "<|end_of_text|>"],
  pad: ["<pad>", "[PAD]", "<|pad|>"],
  sep: ["[SEP]", "<sep>", "</s>"],
};

/**
 * Finds the special ids in a vocabulary. PAD and SEP fall back to EOS when the vocabulary has
 * neither (GPT-2's convention: the pad id only has to be masked, and EOS ends a segment);
 * a missing BOS or EOS is an error, since examples cannot be framed without them.
 */
export function resolveSpecialIds(
  source: string,
  idOf: (token: string) => number | undefined,
  names: SpecialTokenNames = {},
  fallback: Partial<SpecialIds> = {},
): SpecialIds {
  const find = (role: keyof SpecialIds): number | undefined => {
    const asked = names[role];
    if (asked !== undefined) {
      const id = idOf(asked);
      if (id === undefined) {
        throw new TokenizerError({
          source,
          reason: `${role} token ${JSON.stringify(asked)} is not in the vocabulary`,
        });
      }
      return id;
    }
    if (fallback[role] !== undefined && fallback[role]! >= 0) return fallback[role];
    for (const name of CONVENTIONAL[role]) {
      const id = idOf(name);
      if (id !== undefined) return id;
    }
    return undefined;
  };
  const bos = find("bos"), eos = find("eos");
  const missing = (role: string) =>
    new TokenizerError({
      source,
      reason: `no ${role} token found (tried ${
        CONVENTIONAL[role as keyof SpecialIds].join(", ")
      }); name one in the options`,
    });
  if (bos === undefined) throw missing("bos");
  if (eos === undefined) throw missing("eos");
  return { bos, eos, pad: find("pad") ?? eos, sep: find("sep") ?? eos };
}
