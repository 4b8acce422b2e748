/**
 * Each Combiner one chunk at a time (streaming, §3: every part is autoregressive), giving the x_t
 * that `combiner.apply` gives on the whole sequence. What each carries from chunk to chunk:
 *   causal_transformer, cls: the self-attention keys/values of every earlier token, per layer;
 *   perceiver: its latents' self-attention keys/values and the projected keys/values of every
 *     earlier input token (its cross-attention context), per layer;
 *   ttm: only its memory [B, S, D], so a step costs the same at every t;
 *   none: nothing (x_t = u_t).
 * The chunk-causal masks of the full-sequence Combiners become "see everything cached plus this
 * chunk", so no mask is needed here.
 *
 * Letters: B batch, n tokens per chunk, m outputs per chunk, S memory tokens, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type * as combiner from "./combiner/mod.ts";
import { chunkTimeAt } from "./combiner/chunk_time.ts";
import * as ttm from "./combiner/ttm.ts";
import { combinerTokens, type MirasolConfig } from "./config.ts";
import * as attention from "./layers/attention.ts";
import * as transformer from "./layers/transformer.ts";

type KVCache = attention.KVCache;

export type CombinerStream =
  | { readonly kind: "causal_transformer" | "cls"; readonly self: readonly KVCache[] | null }
  | {
    readonly kind: "perceiver";
    readonly self: readonly KVCache[] | null;
    readonly cross: readonly KVCache[] | null;
  }
  | { readonly kind: "ttm"; readonly state: ttm.TtmState }
  | { readonly kind: "none" };

/** The state before chunk 1 for `batch` samples. */
export function initCombinerStream(
  p: combiner.CombinerParams,
  c: MirasolConfig,
  batch: number,
): CombinerStream {
  const kind = c.combiner.kind;
  switch (kind) {
    case "causal_transformer":
    case "cls":
      return { kind, self: null };
    case "perceiver":
      return { kind, self: null, cross: null };
    case "ttm":
      return { kind, state: ttm.initState(p as ttm.TtmCombinerParams, batch) };
    case "none":
      return { kind };
  }
}

/** [B, m, D] copies of a learned [m, D] token table. */
function perSample(table: tf.Tensor, B: number): tf.Tensor3D {
  const [m, D] = table.shape;
  return tf.broadcastTo(tf.reshape(table, [1, m, D]), [B, m, D]) as tf.Tensor3D;
}

/** The last m of [B, len, D]. */
function lastM(y: tf.Tensor, m: number): tf.Tensor3D {
  const [B, len, D] = y.shape;
  return tf.slice(y, [0, len - m, 0], [B, m, D]) as tf.Tensor3D;
}

/** Per-layer keys/values, the new ones appended after the old along the key axis. */
function appendKV(old: readonly KVCache[] | null, added: readonly KVCache[]): KVCache[] {
  return added.map((kv, i) =>
    old
      ? { k: tf.concat([old[i].k, kv.k], 2) as tf.Tensor4D, v: tf.concat([old[i].v, kv.v], 2) as tf.Tensor4D }
      : kv
  );
}

/**
 * Chunk t (0-based) of the Combiner: u_t [B, n, D] (without chunk time) -> x_t [B, m, D] and the
 * next state. Inference only (no dropout). The old state is neither changed nor disposed.
 */
export function combinerStep(
  p: combiner.CombinerParams,
  state: CombinerStream,
  ut: tf.Tensor3D,
  t: number,
  c: MirasolConfig,
): { x: tf.Tensor3D; state: CombinerStream } {
  const [B, , D] = ut.shape;
  return tf.tidy(() => {
    switch (state.kind) {
      case "causal_transformer": {
        const layers = (p as combiner.causalTransformer.CausalTransformerCombinerParams).layers;
        const out = transformer.applyStackCached(layers, tf.add(ut, chunkTimeAt(t, D)), state.self); // [B, n, D]
        return { x: lastM(out.y, combinerTokens(c)), state: { kind: state.kind, self: out.caches } };
      }
      case "cls": {
        const q = p as combiner.cls.ClsCombinerParams;
        const seq = tf.add(tf.concat([ut, perSample(q.tokens, B)], 1), chunkTimeAt(t, D)); // [B, n+m, D]
        const out = transformer.applyStackCached(q.layers, seq, state.self);
        return { x: lastM(out.y, q.tokens.shape[0]), state: { kind: state.kind, self: out.caches } };
      }
      case "perceiver": {
        const q = p as combiner.perceiver.PerceiverCombinerParams;
        const time = chunkTimeAt(t, D);
        const context = tf.add(ut, time); // [B, n, D]
        const cross = appendKV(state.cross, transformer.stackCrossKV(q.layers, context)); // [B, H, (t+1)*n, Dh]
        const latents = tf.add(perSample(q.latents, B), time); // [B, m, D]
        const out = transformer.applyStackCached(q.layers, latents, state.self, { crossKV: cross });
        return { x: out.y, state: { kind: state.kind, self: out.caches, cross } };
      }
      case "ttm": {
        const out = ttm.step(p as ttm.TtmCombinerParams, state.state, ut, t, { train: false });
        return { x: out.x, state: { kind: state.kind, state: out.state } };
      }
      case "none":
        return { x: tf.clone(ut), state };
    }
  });
}
