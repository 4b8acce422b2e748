/**
 * Multi-head dot-product attention (Vaswani et al. 2017, Sec. 3.2), self or cross, with an optional
 * key/value cache for incremental decoding.
 *
 * Masks: true/1 = may attend. A masked logit gets -1e9 added (not -Infinity, which turns a row that
 * sees nothing into NaN), so its probability is exactly 0; a query row that may attend to nothing
 * gets all-zero probabilities (its output is the out-projection bias), never an average over keys
 * it must not see. Softmax runs on the last axis only, and no op outside the set cpu, wasm and
 * webgpu all implement is used (no Einsum).
 *
 * Letters: B batch, Tq queries, Tk keys, S cached keys, Tn new tokens, D width, Dk context width,
 * H heads, Dh head width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { ConfigError, requirePositiveInts } from "../errors.ts";
import { expectBroadcastable, expectShape } from "../shape.ts";
import * as dense from "./dense.ts";
import * as dropout from "./dropout.ts";

export type AttentionConfig = {
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  /** width of the cross-attention source (keys/values), when it differs from dim */
  readonly kvDim?: number;
};

/** q.w: [D, H, Dh], k.w/v.w: [Dk, H, Dh], biases [H, Dh]; out.w: [H, Dh, D], out.b: [D]. */
export type AttentionParams = {
  readonly q: dense.DenseParams;
  readonly k: dense.DenseParams;
  readonly v: dense.DenseParams;
  readonly out: dense.DenseParams;
};

/** Projected keys and values, per head: k, v: [B, H, S, Dh]. */
export type KVCache = { readonly k: tf.Tensor4D; readonly v: tf.Tensor4D };

export type MaskOptions = {
  /** bool or 0/1 tensor broadcastable to [B, H, Tq, Tk]; true/1 = may attend */
  readonly mask?: tf.Tensor;
  /** additive float logits bias broadcastable to [B, H, Tq, Tk] (relative positions, ALiBi, ...) */
  readonly bias?: tf.Tensor;
};

export type AttentionOptions = MaskOptions & {
  /** cross-attention source [B, Tk, Dk]; self-attention when absent */
  readonly context?: tf.Tensor;
  readonly train?: boolean;
  readonly key?: Key;
  /** dropout rate on the attention probabilities (default 0) */
  readonly dropout?: number;
};

const MASKED = -1e9;

export function init(key: Key, c: AttentionConfig): AttentionParams {
  requirePositiveInts("init attention", { dim: c.dim, heads: c.heads, headDim: c.headDim, kvDim: c.kvDim });
  const k = keysFor(key, ["q", "k", "v", "out"]);
  const heads = [c.heads, c.headDim];
  const kvDim = c.kvDim ?? c.dim;
  return {
    q: dense.init(k.q, { inDim: c.dim, outDims: heads }),
    k: dense.init(k.k, { inDim: kvDim, outDims: heads }),
    v: dense.init(k.v, { inDim: kvDim, outDims: heads }),
    out: dense.init(k.out, { inDim: heads, outDims: [c.dim] }),
  };
}

/** Projects [B, T, Din] to per-head [B, H, T, Dh]. */
function project(p: dense.DenseParams, x: tf.Tensor): tf.Tensor4D {
  return tf.transpose(dense.apply(p, x), [0, 2, 1, 3]) as tf.Tensor4D; // [B, T, H, Dh] -> [B, H, T, Dh]
}

type AttendOptions = MaskOptions & {
  readonly train?: boolean;
  readonly key?: Key;
  readonly dropout?: number;
};

/** softmax(q k^T / sqrt(Dh) + bias, masked) v over per-head tensors, then the out projection. */
function attend(p: AttentionParams, q: tf.Tensor4D, kv: KVCache, opts: AttendOptions): tf.Tensor3D {
  const [B, H, Tq, Dh] = q.shape;
  const Tk = kv.k.shape[2];
  const target = [B, H, Tq, Tk];
  const names = ["B", "H", "Tq", "Tk"];
  if (opts.mask) expectBroadcastable(opts.mask, target, names, "attention", "mask");
  if (opts.bias) expectBroadcastable(opts.bias, target, names, "attention", "bias");
  let logits: tf.Tensor = tf.matMul(tf.mul(q, 1 / Math.sqrt(Dh)), kv.k, false, true); // [B, H, Tq, Tk]
  if (opts.bias) logits = tf.add(logits, opts.bias);
  let visible: tf.Tensor | undefined;
  if (opts.mask) {
    visible = opts.mask.dtype === "float32" ? opts.mask : tf.cast(opts.mask, "float32"); // 1 = may attend
    logits = tf.add(logits, tf.mul(tf.sub(visible, 1), -MASKED)); // 0 where visible, -1e9 where not
  }
  let probs = tf.softmax(logits); // over Tk
  if (visible) probs = tf.mul(probs, tf.max(visible, -1, true)); // rows that see nothing -> 0
  const rate = opts.dropout ?? 0;
  probs = dropout.apply(probs, { rate, train: opts.train ?? false, key: opts.key });
  const y = tf.transpose(tf.matMul(probs, kv.v), [0, 2, 1, 3]); // [B, H, Tq, Dh] -> [B, Tq, H, Dh]
  return dense.apply(p.out, y, { inRank: 2 }) as tf.Tensor3D; // [B, Tq, D]
}

function checkQuery(p: AttentionParams, x: tf.Tensor): [number, number] {
  const [B, Tq] = expectShape(x, ["B", "Tq", p.q.w.shape[0]], "attention", "x");
  return [B, Tq];
}

/** Self-attention reads keys/values from x itself, so the layer must have been built with kvDim = dim. */
function checkSelf(p: AttentionParams): void {
  const dim = p.q.w.shape[0], kvDim = p.k.w.shape[0];
  if (dim !== kvDim) {
    throw new ConfigError({
      action: "apply attention to x alone",
      reason: `the layer has kvDim ${kvDim} != dim ${dim}, so it needs a context`,
    });
  }
}

function checkCache(p: AttentionParams, cache: KVCache, B: number, input: string): void {
  const [, H, Dh] = p.k.w.shape;
  const [, , S] = expectShape(cache.k, [B, H, "S", Dh], "attention", `${input}.k`);
  expectShape(cache.v, [B, H, S, Dh], "attention", `${input}.v`);
}

/** x [B, Tq, D] (+ context [B, Tk, Dk]) -> [B, Tq, D]. */
export function apply(p: AttentionParams, x: tf.Tensor, opts: AttentionOptions = {}): tf.Tensor3D {
  const [B] = checkQuery(p, x);
  const source = opts.context ?? x;
  if (opts.context) expectShape(opts.context, [B, "Tk", p.k.w.shape[0]], "attention", "context");
  else checkSelf(p);
  return tf.tidy(() =>
    attend(p, project(p.q, x), { k: project(p.k, source), v: project(p.v, source) }, opts)
  );
}

/** Keys and values of a cross-attention source, projected once: context [B, S, Dk] -> [B, H, S, Dh]. */
export function crossKV(p: AttentionParams, context: tf.Tensor): KVCache {
  expectShape(context, ["B", "S", p.k.w.shape[0]], "attention", "context");
  return tf.tidy(() => ({ k: project(p.k, context), v: project(p.v, context) }));
}

/** Attention of x [B, Tq, D] over already projected keys/values [B, H, S, Dh] -> [B, Tq, D]. */
export function applyWithKV(
  p: AttentionParams,
  x: tf.Tensor,
  kv: KVCache,
  opts: MaskOptions = {},
): tf.Tensor3D {
  const [B] = checkQuery(p, x);
  checkCache(p, kv, B, "kv");
  return tf.tidy(() => attend(p, project(p.q, x), kv, opts));
}

/**
 * Incremental self-attention: projects only the Tn new tokens, appends their keys/values to the
 * cache, and lets the new queries attend to all S + Tn positions. Without a mask every new token
 * sees every cached and new position (right for one token at a time); for several new tokens pass
 * `causalMask(Tn, S + Tn)` (model/masks.ts). The old cache is neither changed nor disposed.
 *
 * x [B, Tn, D], cache [B, H, S, Dh] | null -> {y: [B, Tn, D], cache: [B, H, S + Tn, Dh]}.
 */
export function applyCached(
  p: AttentionParams,
  x: tf.Tensor,
  cache: KVCache | null,
  opts: MaskOptions = {},
): { y: tf.Tensor3D; cache: KVCache } {
  const [B] = checkQuery(p, x);
  checkSelf(p);
  if (cache) checkCache(p, cache, B, "cache");
  return tf.tidy(() => {
    const kNew = project(p.k, x), vNew = project(p.v, x); // [B, H, Tn, Dh]
    const kv: KVCache = cache
      ? { k: tf.concat([cache.k, kNew], 2), v: tf.concat([cache.v, vNew], 2) } // [B, H, S + Tn, Dh]
      : { k: kNew, v: vNew };
    return { y: attend(p, project(p.q, x), kv, opts), cache: kv };
  });
}
