/**
 * A closed-vocabulary word tokenizer: lower-cased words, with each punctuation mark a token of its
 * own, mapped to ids by a fixed sorted word list. For tasks whose text comes from templates (the
 * synthetic audio-video QA set, class names), where a byte or subword tokenizer would spend most of
 * a small model's vocabulary and sequence length on spelling. Ids 0..4 are PAD, EOS, UNK, BOS, SEP
 * (EOS at 1 as in T5/ByT5), then the words in sorted order, so ids never depend on the order of use.
 */
import { checkIds, type Tokenizer, TokenizerError } from "./tokenizer.ts";

const SPECIAL = ["<pad>", "</s>", "<unk>", "<s>", "<sep>"] as const;
const UNK = 2;

/** Lower-cased words and single punctuation marks: "Was it red?" -> ["was", "it", "red", "?"]. */
export function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/** The sorted set of words in `texts`: a vocabulary for `wordTokenizer`. */
export function vocabularyOf(texts: Iterable<string>): string[] {
  const words = new Set<string>();
  for (const t of texts) for (const w of splitWords(t)) words.add(w);
  return [...words].sort();
}

/**
 * A tokenizer over `words` (deduplicated and sorted here). Unknown words encode to UNK; decode joins
 * words with spaces and attaches punctuation to the word before it ("red ?" -> "red?").
 */
export function wordTokenizer(words: Iterable<string>, name = "words"): Tokenizer {
  const vocab = [...new Set(words)].sort();
  const bad = vocab.find((w) => splitWords(w).length !== 1 || splitWords(w)[0] !== w);
  if (bad !== undefined) {
    throw new TokenizerError({
      source: name,
      reason: `vocabulary entry ${JSON.stringify(bad)} is not one lower-case word or mark`,
    });
  }
  const idOf = new Map(vocab.map((w, i) => [w, SPECIAL.length + i]));
  return {
    name,
    vocabSize: SPECIAL.length + vocab.length,
    special: { pad: 0, eos: 1, bos: 3, sep: 4 },
    encode: (text) => Int32Array.from(splitWords(text), (w) => idOf.get(w) ?? UNK),
    decode: (ids) => {
      checkIds(name, ids, SPECIAL.length + vocab.length);
      let out = "";
      for (let i = 0; i < ids.length; i++) {
        const w = vocab[ids[i] - SPECIAL.length];
        if (w === undefined) continue; // special ids carry no text
        out += out === "" || /^[^\p{L}\p{N}]$/u.test(w) ? w : ` ${w}`;
      }
      return out;
    },
  };
}
