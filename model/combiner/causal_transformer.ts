/**
 * Causal Transformer Combiner (§3.2): R transformer layers over all video+audio tokens of all
 * chunks, with the chunk-causal mask of Eq. 8 (a token of chunk t sees every token of chunks <= t),
 * so x_t = Combiner(u_1..u_t) (Eq. 2). It keeps m of the n outputs of each chunk: the paper does not
 * say which; we keep the last tokens of each modality, half the slots each (slots.ts), so the slots
 * mean the same at every frame count. BLIP-3-Video ("selecting the last m tokens") and
 * lucidrains/mirasol-pytorch keep the last m of the whole chunk instead.
 *
 * Streaming (`initState`/`step`): the chunk-causal mask becomes "see every cached token plus this
 * chunk", so a step carries the self-attention keys/values of every earlier token, per layer.
 *
 * Letters: B batch, T chunks, n tokens per chunk, m outputs per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../../transforms/random.ts";
import { addChunkTime, chunkTimeAt, flatten, unflatten } from "../chunks.ts";
import type { MirasolConfig } from "../config.ts";
import type { KVCache } from "../layers/attention.ts";
import * as transformer from "../layers/transformer.ts";
import { chunkCausalMask } from "../masks.ts";
import { stackConfig } from "../stacks.ts";
import { selectSlots, type SlotPlan, slotPlan } from "./slots.ts";

export type CausalTransformerCombinerParams = { readonly layers: transformer.StackParams };
export type CombinerOptions = { readonly config: MirasolConfig; readonly train: boolean; readonly key?: Key };

/** What a streaming step hands to the next: per layer, the keys/values of every token so far. */
export type CausalTransformerState = {
  /** [B, H, t*n, Dh] per layer; null before the first chunk. */
  readonly self: readonly KVCache[] | null;
  /** Which outputs are kept per chunk (m in all). */
  readonly slots: SlotPlan;
};

export function init(key: Key, c: MirasolConfig): CausalTransformerCombinerParams {
  const k = keysFor(key, ["layers"]);
  return { layers: transformer.initStack(k.layers, stackConfig(c, "combiner")) };
}

/** u [B, T, n, D] -> x [B, T, m, D]. */
export function apply(p: CausalTransformerCombinerParams, u: tf.Tensor, opts: CombinerOptions): tf.Tensor4D {
  const [, T, n] = u.shape;
  const y = transformer.applyStack(p.layers, flatten(addChunkTime(u)), {
    mask: chunkCausalMask(T, n), // [T*n, T*n]
    train: opts.train,
    key: opts.key,
    dropout: opts.config.dropout,
  }); // [B, T*n, D]
  return selectSlots(unflatten(y, T), slotPlan(opts.config));
}

export function initState(c: MirasolConfig): CausalTransformerState {
  return { self: null, slots: slotPlan(c) };
}

/**
 * Chunk t (0-based): u_t [B, n, D] (chunk time not yet added) -> x_t [B, m, D] and the next state,
 * equal to `apply`'s x_t. Inference (no dropout); the old state is neither changed nor disposed.
 */
export function step(
  p: CausalTransformerCombinerParams,
  state: CausalTransformerState,
  ut: tf.Tensor3D,
  t: number,
): { x: tf.Tensor3D; state: CausalTransformerState } {
  return tf.tidy(() => {
    const seq = tf.add(ut, chunkTimeAt(t, ut.shape[2])); // [B, n, D]
    const out = transformer.applyStackCached(p.layers, seq, state.self);
    return { x: selectSlots(out.y, state.slots), state: { self: out.caches, slots: state.slots } };
  });
}
