/**
 * Classification as generation (the paper's audio-video benchmarks, Sec. 4: the class is produced
 * as text): every class name is scored as a continuation of a prompt, by the sum of its token
 * log-probabilities under the model (T5's "rank classification"), optionally divided by its
 * length, and the classes are ranked by that score. The prompt is fed once through the incremental
 * decoder; the class continuations then share its keys/values (one decoder pass per class group).
 *
 * Framing follows the QA examples of training (data/examples.ts): the prompt is
 * `[bos, ...prompt, sep]`, a class is `[...name, eos]`, so "dog" and "dog bark" differ by the EOS.
 *
 * This is rank scoring over a closed list; the paper's own protocol, open-ended generation scored by
 * exact match, is classify_open.ts.
 *
 * Letters: B batch, C classes, L longest class, V vocab.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MirasolConfig } from "../model/config.ts";
import { ConfigError } from "../model/errors.ts";
import type { Media } from "../model/inputs.ts";
import { mediaContext, type MirasolParams } from "../model/mirasol.ts";
import * as textDecoder from "../model/text_decoder.ts";
import { promptRows } from "./generate.ts";
import type { Prompt } from "./types.ts";

export const CLASSIFY_PROMPT = "Classify the video audio clip.";

/** What `classify` needs of a tokenizer; data/tokenizer's `Tokenizer` has it. */
export type PromptCodec = {
  readonly encode: (text: string) => ArrayLike<number>;
  readonly special: { readonly bos: number; readonly eos: number; readonly sep: number };
};

export type ClassScore = {
  /** Position of the class in `classNames`. */
  readonly index: number;
  readonly name: string;
  /** log p(class tokens, EOS included | prompt, video). */
  readonly logProb: number;
  /** Tokens scored (EOS included). */
  readonly length: number;
  /** What the ranking uses: logProb, or logProb / length when length-normalised. */
  readonly score: number;
};

export type ClassifyOptions = {
  readonly config: MirasolConfig;
  readonly tokenizer: PromptCodec;
  /** default CLASSIFY_PROMPT */
  readonly prompt?: string;
  /** Rank by mean instead of summed token log-probability (default false). */
  readonly lengthNormalize?: boolean;
};

/** Classes scored in one decoder pass: bounds memory to this many copies of the prompt state per row. */
const CLASS_GROUP = 32;

/**
 * log p(continuation | prompt, h) for every row b and continuation c: [B][C]. h [B, T, m, D] is the
 * media context (`mediaContext`, or a stream's); continuations are non-empty id lists.
 */
export function scoreContinuations(
  params: MirasolParams,
  h: tf.Tensor,
  prompt: Prompt,
  continuations: readonly (readonly number[])[],
): number[][] {
  const p = params.text_decoder;
  const B = h.shape[0], V = p.embed.table.shape[0];
  const prompts = promptRows(prompt, B, V);
  const fail = (reason: string) => new ConfigError({ action: "score continuations", reason });
  const empty = continuations.findIndex((c) => c.length === 0);
  if (empty >= 0) throw fail(`continuation ${empty} is empty`);
  const bad = continuations.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= V);
  if (bad !== undefined) throw fail(`id ${bad} is outside the vocabulary [0, ${V})`);
  const longestOf = (rows: readonly (readonly number[])[]) => rows.reduce((n, r) => Math.max(n, r.length), 0);
  const longest = longestOf(prompts) + longestOf(continuations) - 1;
  const positions = textDecoder.maxPositions(p);
  if (longest > positions) {
    throw fail(`prompt plus continuation need ${longest} positions, the decoder has ${positions}`);
  }

  const first = textDecoder.stepPrompts(p, textDecoder.initState(p, h), prompts);
  const firstLogProbs = first.logProbs.arraySync(); // [B][V]: predicts each continuation's first token
  first.logProbs.dispose();
  const scores = prompts.map(() => continuations.map(() => 0));
  try {
    for (let c0 = 0; c0 < continuations.length; c0 += CLASS_GROUP) {
      const group = continuations.slice(c0, c0 + CLASS_GROUP);
      const G = group.length;
      for (let b = 0; b < B; b++) group.forEach((c, g) => (scores[b][c0 + g] = firstLogProbs[b][c[0]]));
      const L = longestOf(group);
      if (L === 1) continue;
      // Row b*G + g feeds tokens 0..L-2 of class g (right padded; padding comes after, so it is never seen).
      const rows = Array.from({ length: B * G }, (_, r) => Math.floor(r / G));
      const tiled = textDecoder.selectRows(first.state, rows);
      const inputs = rows.map((_, r) => Array.from({ length: L - 1 }, (_, j) => group[r % G][j] ?? 0));
      const targets = rows.map((_, r) => Array.from({ length: L - 1 }, (_, j) => group[r % G][j + 1] ?? 0));
      const out = textDecoder.step(p, tiled, inputs); // logProbs [B*G, L-1, V]
      textDecoder.disposeState(tiled);
      textDecoder.disposeState(out.state, { keepCross: true }); // its cross keys/values were tiled's
      // Entry (r, j) of the flat [B*G*(L-1)*V] log-probs is at (r*(L-1) + j)*V + target (a flat
      // gather: tfjs-backend-wasm 4.22 gathers wrong rows with batchDims = 1).
      const flatIndex = Int32Array.from(targets.flat(), (target, i) => i * V + target);
      const picked = tf.tidy(() =>
        tf.gather(tf.reshape(out.logProbs, [-1]), tf.tensor1d(flatIndex, "int32"))
      ); // [B*G*(L-1)]
      out.logProbs.dispose();
      const values = picked.dataSync();
      picked.dispose();
      rows.forEach((b, r) => {
        const c = group[r % G];
        for (let j = 0; j < c.length - 1; j++) scores[b][c0 + (r % G)] += values[r * (L - 1) + j];
      });
    }
  } finally {
    textDecoder.disposeState(first.state);
  }
  return scores;
}

/** Ranks `classNames` (best first) for each video of `media`, which runs through the media side once. */
export function classify(
  params: MirasolParams,
  media: Media,
  classNames: readonly string[],
  opts: ClassifyOptions,
): ClassScore[][] {
  const h = mediaContext(params, media, opts.config);
  try {
    return classifyFromContext(params, h, classNames, opts);
  } finally {
    h.dispose();
  }
}

/** `classify` given h [B, T, m, D] already computed (by `mediaContext` or a stream). */
export function classifyFromContext(
  params: MirasolParams,
  h: tf.Tensor,
  classNames: readonly string[],
  opts: ClassifyOptions,
): ClassScore[][] {
  if (classNames.length === 0) {
    throw new ConfigError({ action: "classify", reason: "no class names were given" });
  }
  const { bos, eos, sep } = opts.tokenizer.special;
  const prompt = [bos, ...Array.from(opts.tokenizer.encode(opts.prompt ?? CLASSIFY_PROMPT)), sep];
  const classes = classNames.map((name) => [...Array.from(opts.tokenizer.encode(name)), eos]);
  const logProbs = scoreContinuations(params, h, prompt, classes);
  return logProbs.map((row) =>
    row
      .map((logProb, index): ClassScore => {
        const length = classes[index].length;
        const score = opts.lengthNormalize ? logProb / length : logProb;
        return { index, name: classNames[index], logProb, length, score };
      })
      .sort((a, b) => b.score - a.score || a.index - b.index)
  );
}
