/**
 * Perceiver Combiner (Tab. 5b baseline, the Flamingo resampler [2]): m learned latents per chunk,
 * R layers of (self-attention among latents, cross-attention to the video+audio tokens, MLP), both
 * chunk-causal: the latents of chunk t see latents and tokens of chunks <= t only.
 * Flamingo lets latents attend to [tokens; latents] in one attention; a separate self- and
 * cross-attention is the transformer block we have and is equivalent in what it can see.
 *
 * Letters: B batch, T chunks, n tokens per chunk, m latents per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { truncNormal } from "../../transforms/initializers.ts";
import { type Key, keysFor } from "../../transforms/random.ts";
import { combinerTokens, type MirasolConfig } from "../config.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkCausalCrossMask, chunkCausalMask } from "../masks.ts";
import { combinerLayers, type CombinerOptions, stackConfig } from "./causal_transformer.ts";
import { addChunkTime, flatten, unflatten } from "./chunk_time.ts";

export type PerceiverCombinerParams = {
  /** [m, D], shared by all chunks. */
  readonly latents: tf.Tensor;
  readonly layers: ReturnType<typeof transformer.initStack>;
};

export function init(key: Key, c: MirasolConfig): PerceiverCombinerParams {
  const k = keysFor(key, ["latents", "layers"]);
  return {
    latents: truncNormal(k.latents, [combinerTokens(c), c.width.dim], 0.02),
    layers: transformer.initStack(k.layers, stackConfig(c, combinerLayers(c), true)),
  };
}

/** u [B, T, n, D] -> x [B, T, m, D]. */
export function apply(p: PerceiverCombinerParams, u: tf.Tensor, opts: CombinerOptions): tf.Tensor4D {
  const [B, T, n, D] = u.shape;
  const m = p.latents.shape[0];
  const latents = addChunkTime(tf.broadcastTo(tf.reshape(p.latents, [1, 1, m, D]), [B, T, m, D])); // [B, T, m, D]
  const y = transformer.applyStack(p.layers, flatten(latents), {
    mask: chunkCausalMask(T, m), // [T*m, T*m]
    context: flatten(addChunkTime(u)), // [B, T*n, D]
    contextMask: chunkCausalCrossMask(T, m, n), // [T*m, T*n]
    train: opts.train,
    key: opts.key,
    dropout: opts.config.dropout,
  });
  return unflatten(y, T);
}
