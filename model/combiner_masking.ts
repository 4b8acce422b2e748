/**
 * Random masking of the Combiner outputs during training (§3.6: "random masking to the Combiner
 * output features at a ratio of 0.75% as a form of dropout regularization"; we read 0.75).
 *
 * A masked token is hidden from the latent model as an attention KEY: no query can read it. It
 * still is a query (its h is computed and scored by the latent loss) and still a target x_{t+1}.
 * Per sample and chunk exactly round(ratio * m) tokens are masked, but never all m: every chunk keeps
 * at least one token, so every query (which sees its own chunk) has at least one visible key and no
 * attention row is empty (no NaN). lucidrains/mirasol-pytorch masks whole chunks instead and forgets
 * to turn masking off at inference; here masking happens only when `train` is true.
 *
 * Which tokens: one uniform draw per token; the `maskedPerChunk` smallest draws of a chunk are
 * masked, ties going to the lower index. It is computed with tensor ops (each token's rank among its
 * chunk's draws), so an exported graph draws the same mask from the same key (a tensor key there).
 *
 * Letters: B batch, T chunks, m tokens per chunk.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, uniform } from "../transforms/random.ts";
import { ConfigError } from "./errors.ts";
import { chunkCausalMask } from "./masks.ts";

/** Tokens masked per chunk: round(ratio * m), at most m - 1. */
export function maskedPerChunk(tokens: number, ratio: number): number {
  return Math.min(tokens - 1, Math.max(0, Math.round(ratio * tokens)));
}

/**
 * Keep flags bool [B, T, m] (true = visible): in every chunk of every sample, the tokens with the
 * `maskedPerChunk` smallest uniform draws are masked.
 */
export function sampleKeep(
  key: Key,
  shape: { batch: number; chunks: number; tokens: number },
  ratio: number,
): tf.Tensor {
  const { batch: B, chunks: T, tokens: m } = shape;
  const masked = maskedPerChunk(m, ratio);
  return tf.tidy(() => {
    const u = uniform(key, [B * T, m]); // one draw per token, row-major as the host draws them
    const ui = tf.reshape(u, [B * T, m, 1]), uj = tf.reshape(u, [B * T, 1, m]);
    const lowerIndex = tf.less(
      tf.reshape(tf.range(0, m, 1, "int32"), [m, 1]),
      tf.reshape(tf.range(0, m, 1, "int32"), [1, m]),
    ); // [i, j]: i < j
    const before = tf.logicalOr(tf.less(ui, uj), tf.logicalAnd(tf.equal(ui, uj), lowerIndex)); // [BT, i, j]
    const rank = tf.sum(tf.cast(before, "int32"), 1); // [BT, m]: how many draws of the chunk come before j
    return tf.reshape(tf.greaterEqual(rank, tf.scalar(masked, "int32")), [B, T, m]);
  });
}

/**
 * The latent model's attention mask, bool: chunk-causal (or all-true when bidirectional) [T*m, T*m],
 * AND, with `keep` [B, T, m], the key is kept: [B, 1, T*m, T*m] (broadcast over heads).
 */
export function latentMask(
  chunks: number,
  tokens: number,
  keep?: tf.Tensor,
  bidirectional = false,
): tf.Tensor {
  const len = chunks * tokens;
  return tf.tidy(() => {
    const visible = bidirectional ? tf.ones([len, len], "bool") : chunkCausalMask(chunks, tokens);
    if (!keep) return visible;
    const B = keep.shape[0];
    return tf.logicalAnd(visible, tf.reshape(keep, [B, 1, 1, len])); // [B, 1, T*m, T*m]
  });
}

/**
 * What the latent model uses for one batch: during training with ratio > 0 a fresh random mask from
 * `key`; otherwise no masking at all. `keep` [B, T, m] is returned for inspection (tests, pictures).
 */
export function combinerMask(
  opts: { train: boolean; ratio: number; key?: Key; bidirectional?: boolean },
  shape: { batch: number; chunks: number; tokens: number },
): { mask: tf.Tensor; keep?: tf.Tensor } {
  if (!opts.train || opts.ratio === 0 || maskedPerChunk(shape.tokens, opts.ratio) === 0) {
    return { mask: latentMask(shape.chunks, shape.tokens, undefined, opts.bidirectional) };
  }
  if (!opts.key) {
    throw new ConfigError({
      action: "mask Combiner outputs",
      reason: "train is true and combinerMaskRatio > 0 but no key was given",
    });
  }
  const keep = sampleKeep(opts.key, shape, opts.ratio);
  return { mask: latentMask(shape.chunks, shape.tokens, keep, opts.bidirectional), keep };
}
