/**
 * Perceiver Combiner (Tab. 5b baseline, the Flamingo resampler [2]): m learned latents per chunk,
 * R layers of (self-attention among latents, cross-attention to the video+audio tokens, MLP), both
 * chunk-causal: the latents of chunk t see latents and tokens of chunks <= t only.
 * Flamingo lets latents attend to [tokens; latents] in one attention; a separate self- and
 * cross-attention is the transformer block we have and is equivalent in what it can see.
 *
 * Streaming (`initState`/`step`): per layer, the latents' self-attention keys/values and the
 * projected keys/values of every earlier input token (the cross-attention context).
 *
 * Letters: B batch, T chunks, n tokens per chunk, m latents per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { truncNormal } from "../../transforms/initializers.ts";
import { type Key, keysFor } from "../../transforms/random.ts";
import { addChunkTime, chunkTimeAt, flatten, unflatten } from "../chunks.ts";
import { combinerTokens, type MirasolConfig } from "../config.ts";
import type { KVCache } from "../layers/attention.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkCausalCrossMask, chunkCausalMask } from "../masks.ts";
import { stackConfig } from "../stacks.ts";
import type { CombinerOptions } from "./causal_transformer.ts";

export type PerceiverCombinerParams = {
  /** [m, D], shared by all chunks. */
  readonly latents: tf.Tensor;
  readonly layers: transformer.StackParams;
};

export type PerceiverState = {
  /** Latents' self-attention keys/values [B, H, t*m, Dh] per layer; null before the first chunk. */
  readonly self: readonly KVCache[] | null;
  /** Cross-attention keys/values of every input token so far [B, H, t*n, Dh] per layer. */
  readonly cross: readonly KVCache[] | null;
};

export function init(key: Key, c: MirasolConfig): PerceiverCombinerParams {
  const k = keysFor(key, ["latents", "layers"]);
  return {
    latents: truncNormal(k.latents, [combinerTokens(c), c.width.dim], 0.02),
    layers: transformer.initStack(k.layers, stackConfig(c, "combiner")),
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

export function initState(): PerceiverState {
  return { self: null, cross: null };
}

/** Per-layer keys/values, the new ones appended after the old along the key axis. */
function appendKV(old: readonly KVCache[] | null, added: readonly KVCache[]): KVCache[] {
  return added.map((kv, i) =>
    old
      ? { k: tf.concat([old[i].k, kv.k], 2) as tf.Tensor4D, v: tf.concat([old[i].v, kv.v], 2) as tf.Tensor4D }
      : kv
  );
}

/** Chunk t: u_t [B, n, D] -> x_t [B, m, D], equal to `apply`'s; inference, the old state kept. */
export function step(
  p: PerceiverCombinerParams,
  state: PerceiverState,
  ut: tf.Tensor3D,
  t: number,
): { x: tf.Tensor3D; state: PerceiverState } {
  const [B, , D] = ut.shape;
  const m = p.latents.shape[0];
  return tf.tidy(() => {
    const time = chunkTimeAt(t, D);
    const cross = appendKV(state.cross, transformer.stackCrossKV(p.layers, tf.add(ut, time))); // [B, H, (t+1)*n, Dh]
    const latents = tf.add(tf.broadcastTo(tf.reshape(p.latents, [1, m, D]), [B, m, D]), time); // [B, m, D]
    const out = transformer.applyStackCached(p.layers, latents, state.self, { crossKV: cross });
    return { x: out.y, state: { self: out.caches, cross } };
  });
}
