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
 * Letters: B batch, T chunks, m tokens per chunk.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, uniformValues } from "../transforms/random.ts";
import { ConfigError } from "./errors.ts";
import { chunkCausalMaskBytes } from "./masks.ts";

/** Tokens masked per chunk: round(ratio * m), at most m - 1. */
export function maskedPerChunk(tokens: number, ratio: number): number {
  return Math.min(tokens - 1, Math.max(0, Math.round(ratio * tokens)));
}

/**
 * Host-side keep flags [B * T * m] (1 = visible): in every chunk of every sample, the tokens with
 * the `maskedPerChunk` smallest uniform draws are masked.
 */
export function sampleKeep(
  key: Key,
  shape: { batch: number; chunks: number; tokens: number },
  ratio: number,
): Uint8Array {
  const { batch: B, chunks: T, tokens: m } = shape;
  const masked = maskedPerChunk(m, ratio);
  const u = uniformValues(key, B * T * m);
  const keep = new Uint8Array(B * T * m).fill(1);
  for (let c = 0; c < B * T; c++) {
    const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => u[c * m + a] - u[c * m + b]);
    for (let j = 0; j < masked; j++) keep[c * m + order[j]] = 0;
  }
  return keep;
}

/**
 * The latent model's attention mask, bool [B, 1, T*m, T*m] (broadcast over heads): chunk-causal
 * AND the key is kept. Without `keep` (eval) it is the plain chunk-causal mask [T*m, T*m].
 */
export function latentMask(chunks: number, tokens: number, keep?: Uint8Array, bidirectional = false): tf.Tensor {
  const len = chunks * tokens;
  const causal = bidirectional ? { data: new Uint8Array(len * len).fill(1) } : chunkCausalMaskBytes(chunks, tokens);
  if (!keep) return tf.tensor2d(causal.data, [len, len], "bool");
  const B = keep.length / len;
  const out = new Uint8Array(B * len * len);
  for (let b = 0; b < B; b++) {
    for (let i = 0; i < len; i++) {
      for (let j = 0; j < len; j++) {
        out[(b * len + i) * len + j] = causal.data[i * len + j] & keep[b * len + j];
      }
    }
  }
  return tf.tensor4d(out, [B, 1, len, len], "bool");
}

/**
 * What the latent model uses for one batch: during training with ratio > 0 a fresh random mask from
 * `key`; otherwise no masking at all. `keep` is returned for inspection (tests, visualisation).
 */
export function combinerMask(
  opts: { train: boolean; ratio: number; key?: Key; bidirectional?: boolean },
  shape: { batch: number; chunks: number; tokens: number },
): { mask: tf.Tensor; keep?: Uint8Array } {
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
