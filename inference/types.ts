/**
 * What generation takes and gives: the decoding strategy, the options, a prompt and one generated
 * sequence. Shared by greedy/sampled decoding (generate.ts), beam search (beam.ts), classification
 * and streaming.
 */
import type { MirasolConfig } from "../model/config.ts";
import type { Key } from "../transforms/random.ts";

export type Strategy =
  | { readonly kind: "greedy" }
  /** `lengthPenalty` is GNMT's alpha (Wu et al. 2016): score = log p / ((5 + len) / 6)^alpha; 0 = none. */
  | { readonly kind: "beam"; readonly beamSize: number; readonly lengthPenalty: number }
  /** Samples from softmax(logits / temperature), restricted to the `topK` most likely tokens if given. */
  | { readonly kind: "sample"; readonly temperature: number; readonly topK?: number; readonly key: Key };

export type GenerateOptions = {
  readonly config: MirasolConfig;
  /** Most tokens generated per sequence (EOS included). */
  readonly maxLen: number;
  readonly strategy: Strategy;
  /** The id that ends a sequence (the tokenizer's `special.eos`). */
  readonly eos: number;
};

/** One generated sequence. */
export type Generated = {
  /** The generated ids, the closing EOS included when `finished`; the prompt not included. */
  readonly tokens: number[];
  /** log p(token | prompt, earlier tokens, video) of each token under the model (temperature 1). */
  readonly logProbs: number[];
  /** True when the sequence ended with EOS, false when it hit `maxLen`. */
  readonly finished: boolean;
  /** Sum of `logProbs`; for beam search divided by the length penalty. */
  readonly score: number;
};

/** One prompt for every row, or one per row: ids, `[bos, ...question, sep]` as in training. */
export type Prompt = readonly number[] | readonly (readonly number[])[];
