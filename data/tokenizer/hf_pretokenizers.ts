/**
 * Hugging Face tokenizer.json pre-tokenizers: split normalized text into the words the model
 * segments one by one. `first` tells whether the text is the start of the input (Metaspace's
 * prepend_scheme "first" prepends only there).
 */
import { bytesToUnicode, isPunctuation, isWhitespace, onigToJs, patternOf, splitOn } from "./hf_split.ts";

import type { PreTokenizer } from "./hf_schema.ts";

export type PreTokenize = (words: readonly string[], first: boolean) => string[];

/** The GPT-2 split pattern that ByteLevel uses when use_regex is true. */
const GPT2_PATTERN = new RegExp(
  onigToJs(String.raw`'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`),
  "gu",
);
/**
 * Rust regex `\w+|[^\w\s]+` with the regex crate's Unicode \w (alphabetic, marks, decimal digits,
 * connectors, joiners) and \s (White_Space: U+FEFF is not a space there).
 */
const WHITESPACE_PATTERN =
  /[\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}]+|[^\p{Alphabetic}\p{M}\p{Nd}\p{Pc}\p{Join_Control}\p{White_Space}]+/gu;

const perWord = (f: (word: string, first: boolean) => string[]): PreTokenize => (words, first) =>
  words.flatMap((w, i) => f(w, first && i === 0));

export function buildPreTokenizer(spec: PreTokenizer | null | undefined): PreTokenize {
  if (spec === null || spec === undefined) return (words) => [...words];
  switch (spec.type) {
    case "Sequence": {
      const steps = spec.pretokenizers.map(buildPreTokenizer);
      return (words, first) => steps.reduce((acc, f) => f(acc, first), [...words]);
    }
    case "ByteLevel": {
      const table = bytesToUnicode();
      const encoder = new TextEncoder();
      const addPrefixSpace = spec.add_prefix_space, useRegex = spec.use_regex ?? true;
      return perWord((word) => {
        const w = addPrefixSpace && !word.startsWith(" ") ? " " + word : word;
        const pieces = useRegex ? splitOn(w, GPT2_PATTERN, "Isolated") : [w];
        return pieces.map((p) => Array.from(encoder.encode(p), (b) => table[b]).join(""));
      });
    }
    case "Whitespace":
      return perWord((w) => [...w.matchAll(WHITESPACE_PATTERN)].map((m) => m[0]));
    case "WhitespaceSplit":
      return perWord((w) => splitOn(w, isWhitespace, "Removed"));
    case "BertPreTokenizer":
      return perWord((w) =>
        splitOn(w, isWhitespace, "Removed").flatMap((p) => splitOn(p, isPunctuation, "Isolated"))
      );
    case "Punctuation":
      return perWord((w) => splitOn(w, isPunctuation, spec.behavior ?? "Isolated"));
    case "Digits": {
      const isDigit = (ch: string) => /^\p{N}$/u.test(ch);
      return perWord((w) => splitOn(w, isDigit, spec.individual_digits ? "Isolated" : "Contiguous"));
    }
    case "CharDelimiterSplit":
      return perWord((w) => splitOn(w, (ch) => ch === spec.delimiter, "Removed"));
    case "Split": {
      const re = patternOf(spec.pattern, "Split pre-tokenizer");
      return perWord((w) => splitOn(w, re, spec.behavior, spec.invert));
    }
    case "Metaspace": {
      const replacement = spec.replacement;
      // older files carry add_prefix_space instead of prepend_scheme
      const scheme = spec.prepend_scheme ?? (spec.add_prefix_space === false ? "never" : "always");
      const split = spec.split ?? true;
      return perWord((word, first) => {
        let w = word.replaceAll(" ", replacement);
        const prepend = scheme === "always" || (scheme === "first" && first);
        if (prepend && !w.startsWith(replacement)) w = replacement + w;
        return split ? splitOn(w, (ch) => ch === replacement, "MergedWithNext") : [w];
      });
    }
  }
}
