/**
 * Transformer+CLS Combiner (Tab. 5b baseline): m learned tokens are appended to the tokens of each
 * chunk ("appends m learnable features to the end of the sequence", §4.1), the whole sequence goes
 * through R layers with the chunk-causal mask, and the outputs at the appended tokens are x_t.
 * Appending per chunk (not once at the very end) is what keeps x_t causal (Eq. 2).
 *
 * Streaming (`initState`/`step`): like the causal Transformer, the self-attention keys/values of
 * every earlier token (the appended ones included), per layer.
 *
 * Letters: B batch, T chunks, n tokens per chunk, m learned tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { truncNormal } from "../../transforms/initializers.ts";
import { type Key, keysFor } from "../../transforms/random.ts";
import { addChunkTime, chunkTimeAt, flatten, lastTokens, unflatten } from "../chunks.ts";
import { combinerTokens, type MirasolConfig } from "../config.ts";
import type { KVCache } from "../layers/attention.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkCausalMask } from "../masks.ts";
import { stackConfig } from "../stacks.ts";
import type { CombinerOptions } from "./causal_transformer.ts";

export type ClsCombinerParams = {
  /** [m, D], the same m tokens for every chunk (they tell chunks apart by the chunk-time sinusoid). */
  readonly tokens: tf.Tensor;
  readonly layers: transformer.StackParams;
};

/** Per layer, the keys/values of every token so far, [B, H, t*(n+m), Dh]; null before the first chunk. */
export type ClsState = { readonly self: readonly KVCache[] | null };

export function init(key: Key, c: MirasolConfig): ClsCombinerParams {
  const k = keysFor(key, ["tokens", "layers"]);
  return {
    tokens: truncNormal(k.tokens, [combinerTokens(c), c.width.dim], 0.02), // BERT/ViT CLS init
    layers: transformer.initStack(k.layers, stackConfig(c, "combiner")),
  };
}

/** u [B, T, n, D] -> x [B, T, m, D]. */
export function apply(p: ClsCombinerParams, u: tf.Tensor, opts: CombinerOptions): tf.Tensor4D {
  const [B, T, n, D] = u.shape;
  const m = p.tokens.shape[0];
  const cls = tf.broadcastTo(tf.reshape(p.tokens, [1, 1, m, D]), [B, T, m, D]); // [B, T, m, D]
  const seq = addChunkTime(tf.concat([u, cls], 2)); // [B, T, n+m, D]
  const y = transformer.applyStack(p.layers, flatten(seq), {
    mask: chunkCausalMask(T, n + m),
    train: opts.train,
    key: opts.key,
    dropout: opts.config.dropout,
  });
  return lastTokens(unflatten(y, T), m);
}

export function initState(): ClsState {
  return { self: null };
}

/** Chunk t: u_t [B, n, D] -> x_t [B, m, D], equal to `apply`'s; inference, the old state kept. */
export function step(
  p: ClsCombinerParams,
  state: ClsState,
  ut: tf.Tensor3D,
  t: number,
): { x: tf.Tensor3D; state: ClsState } {
  const [B, , D] = ut.shape;
  const m = p.tokens.shape[0];
  return tf.tidy(() => {
    const cls = tf.broadcastTo(tf.reshape(p.tokens, [1, m, D]), [B, m, D]); // [B, m, D]
    const seq = tf.add(tf.concat([ut, cls], 1), chunkTimeAt(t, D)); // [B, n+m, D]
    const out = transformer.applyStackCached(p.layers, seq, state.self);
    return { x: lastTokens(out.y, m), state: { self: out.caches } };
  });
}
