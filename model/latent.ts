/**
 * Latent causal model (§3.3): a transformer over x = (x_1..x_T) with the chunk-causal mask of Eq. 8
 * (plus, in training, the Combiner-output masking) -> h = (h_1..h_T); h_t is trained to predict
 * x_{t+1} (losses.ts). Positions: a learned embedding of the token's index inside its chunk ([m, D],
 * sized by m only) plus the fixed chunk-time sinusoid, so T (and the frame count) adds no parameters.
 *
 * Streaming (`initState`/`step`): with the chunk-causal mask, h_t needs only x_1..x_t, so a step
 * carries the keys/values of the earlier x tokens. A bidirectional latent model cannot stream.
 * A bidirectional one is trained by masked-chunk prediction instead (masked_chunks.ts says why):
 * `applyHidingEachChunk` runs it once per hidden chunk, with the learned `mask_token` in its place.
 *
 * Letters: B batch, T chunks, m tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { truncNormal } from "../transforms/initializers.ts";
import { type Key, keysFor } from "../transforms/random.ts";
import { addChunkTime, chunkTimeAt, flatten, unflatten } from "./chunks.ts";
import { combinerTokens, type MirasolConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import type { KVCache } from "./layers/attention.ts";
import * as transformer from "./layers/transformer.ts";
import { hideEachChunk, latentObjective, tileMask } from "./masked_chunks.ts";
import { stackConfig } from "./stacks.ts";

export type LatentParams = {
  /** [m, D] position of a token inside its chunk; absent without a Combiner (u carries positions). */
  readonly token_pos?: tf.Tensor;
  /** [D] what stands in for a hidden chunk's x (bidirectional latent model only; BERT's [MASK]). */
  readonly mask_token?: tf.Tensor;
  readonly layers: transformer.StackParams;
};

/** Streaming: the self-attention keys/values of every earlier x token, [B, H, t*m, Dh] per layer. */
export type LatentState = { readonly self: readonly KVCache[] | null };

export function init(key: Key, c: MirasolConfig): LatentParams {
  const k = keysFor(key, ["token_pos", "layers", "mask_token"]);
  const layers = transformer.initStack(k.layers, stackConfig(c, "latent"));
  const masked = latentObjective(c) === "masked_chunk"
    ? { mask_token: truncNormal(k.mask_token, [c.width.dim], 0.02) }
    : {};
  // Without a Combiner, m = n grows with K: a table sized by it would tie parameters to frame count.
  if (c.combiner.kind === "none") return { ...masked, layers };
  return { token_pos: truncNormal(k.token_pos, [combinerTokens(c), c.width.dim], 0.02), ...masked, layers };
}

/**
 * x [B, T, m, D] -> h [B, T, m, D]. `mask` is [T*m, T*m] or [B, 1, T*m, T*m]
 * (combiner_masking.latentMask): it must be chunk-causal for h_t to depend on x_1..x_t only.
 */
export function apply(
  p: LatentParams,
  x: tf.Tensor,
  opts: { readonly mask: tf.Tensor; readonly train: boolean; readonly key?: Key; readonly dropout?: number },
): tf.Tensor4D {
  const [, T, m, D] = x.shape;
  const input = addChunkTime(p.token_pos ? tf.add(x, tf.reshape(p.token_pos, [1, 1, m, D])) : x); // [B, T, m, D]
  const h = transformer.applyStack(p.layers, flatten(input), {
    mask: opts.mask,
    train: opts.train,
    key: opts.key,
    dropout: opts.dropout,
  }); // [B, T*m, D]
  return unflatten(h, T);
}

/**
 * The masked-chunk passes: x [B, T, m, D] -> [T*B, T, m, D], row s*B + b the latent model's output on
 * sample b with x_s replaced by `mask_token` (masked_chunks.diagonal picks chunk s of pass s). `mask`
 * is the one `apply` takes for x (bidirectional, with the Combiner-output masking in training).
 */
export function applyHidingEachChunk(
  p: LatentParams,
  x: tf.Tensor,
  opts: { readonly mask: tf.Tensor; readonly train: boolean; readonly key?: Key; readonly dropout?: number },
): tf.Tensor4D {
  if (!p.mask_token) {
    throw new ConfigError({
      action: "run the masked-chunk latent passes",
      reason: "the latent params have no mask_token (they were made for a chunk-causal latent model)",
    });
  }
  const maskToken = p.mask_token;
  return tf.tidy(() =>
    apply(p, hideEachChunk(x, maskToken), { ...opts, mask: tileMask(opts.mask, x.shape[1] ?? 0) })
  );
}

export function initState(): LatentState {
  return { self: null };
}

/**
 * Chunk t (0-based): x_t [B, m, D] -> h_t [B, m, D] and the next state, equal to `apply`'s h_t under
 * the chunk-causal mask. Inference (no dropout, no masking); the old state is neither changed nor
 * disposed.
 */
export function step(
  p: LatentParams,
  state: LatentState,
  xt: tf.Tensor3D,
  t: number,
): { h: tf.Tensor3D; state: LatentState } {
  const [, m, D] = xt.shape;
  return tf.tidy(() => {
    const withPos = p.token_pos ? tf.add(xt, tf.reshape(p.token_pos, [1, m, D])) : xt; // [B, m, D]
    const out = transformer.applyStackCached(p.layers, tf.add(withPos, chunkTimeAt(t, D)), state.self);
    return { h: out.y, state: { self: out.caches } };
  });
}
