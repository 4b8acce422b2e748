/**
 * Small pure functions the export tests trace and run: an MLP, and a one-block pre-LN transformer
 * language model (embedding, layer norm, multi-head attention, erf GELU MLP) with a cross-entropy
 * loss over int labels. Written with plain tfjs ops, independent of model/, so the exporter is
 * tested on known graphs.
 *
 * Letters: B batch, L text length, D width, H heads, Dh head dim, V vocab, F MLP width.
 */
import * as tf from "@tensorflow/tfjs-core";

export const f32 = (...shape: number[]) => ({ shape, dtype: "float32" as const });
export const i32 = (...shape: number[]) => ({ shape, dtype: "int32" as const });

export type MlpParams = { l1: { w: tf.Tensor; b: tf.Tensor }; l2: { w: tf.Tensor; b: tf.Tensor } };

export function mlp(p: MlpParams, x: tf.Tensor): tf.Tensor {
  const h = tf.relu(tf.add(tf.matMul(x, p.l1.w), p.l1.b));
  return tf.add(tf.matMul(h, p.l2.w), p.l2.b);
}

export const LM = { B: 2, L: 6, D: 16, H: 2, Dh: 8, V: 11, F: 32 } as const;

type Linear = { w: tf.Tensor; b: tf.Tensor };
export type LmParams = {
  embed: tf.Tensor; // [V, D]
  block: {
    ln1: { scale: tf.Tensor; bias: tf.Tensor };
    attn: { q: Linear; k: Linear; v: Linear; out: Linear }; // q/k/v.w: [D, H, Dh], out.w: [H*Dh, D]
    ln2: { scale: tf.Tensor; bias: tf.Tensor };
    mlp: { up: Linear; down: Linear };
  };
  head: Linear; // [D, V]
};

/** Deterministic params from a seed (tests only; the model uses transforms/initializers). */
export function lmParams(seed: number): LmParams {
  const { D, H, Dh, V, F } = LM;
  let s = seed;
  const n = (shape: number[], std: number) => tf.mul(tf.randomNormal(shape, 0, 1, "float32", s++), std);
  const lin = (inShape: number[], out: number[]) => ({
    w: n([...inShape, ...out], 1 / Math.sqrt(inShape[0])),
    b: n(out, 0.1),
  });
  return {
    embed: n([V, D], 1),
    block: {
      ln1: { scale: tf.add(1, n([D], 0.1)), bias: n([D], 0.1) },
      attn: { q: lin([D], [H, Dh]), k: lin([D], [H, Dh]), v: lin([D], [H, Dh]), out: lin([H * Dh], [D]) },
      ln2: { scale: tf.add(1, n([D], 0.1)), bias: n([D], 0.1) },
      mlp: { up: lin([D], [F]), down: lin([F], [D]) },
    },
    head: lin([D], [V]),
  };
}

function layerNorm(p: { scale: tf.Tensor; bias: tf.Tensor }, x: tf.Tensor): tf.Tensor {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.mul(tf.sub(x, mean), tf.rsqrt(tf.add(variance, 1e-6))), p.scale), p.bias);
}

/** Exact GELU, 0.5 x (1 + erf(x / sqrt 2)): TF has no Gelu op, so this is what the export must carry. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

function dense(p: Linear, x: tf.Tensor): tf.Tensor {
  const [B, L, D] = x.shape;
  const out = p.w.shape.slice(1);
  const y = tf.matMul(tf.reshape(x, [B * L, D]), tf.reshape(p.w, [D, -1])); // [B*L, prod(out)]
  return tf.add(tf.reshape(y, [B, L, ...out]), p.b);
}

/** Causal pre-LN block: x + attn(ln1(x)), then + mlp(ln2(x)). */
export function block(p: LmParams["block"], x: tf.Tensor): tf.Tensor {
  const [B, L] = x.shape;
  const { H, Dh } = LM;
  const h = layerNorm(p.ln1, x);
  const heads = (l: Linear) => tf.transpose(dense(l, h), [0, 2, 1, 3]); // [B, H, L, Dh]
  const logits = tf.mul(tf.matMul(heads(p.attn.q), heads(p.attn.k), false, true), 1 / Math.sqrt(Dh)); // [B, H, L, L]
  const causal = tf.linalg.bandPart(tf.ones([L, L]), -1, 0);
  const masked = tf.add(logits, tf.mul(tf.sub(1, causal), -1e9));
  const y = tf.transpose(tf.matMul(tf.softmax(masked), heads(p.attn.v)), [0, 2, 1, 3]); // [B, L, H, Dh]
  const x1 = tf.add(x, dense(p.attn.out, tf.reshape(y, [B, L, H * Dh])));
  return tf.add(x1, dense(p.mlp.down, gelu(dense(p.mlp.up, layerNorm(p.ln2, x1)))));
}

/** tokens [B, L] int32 -> {logits [B, L, V], h [B, L, D]} */
export function lmForward(p: LmParams, tokens: tf.Tensor): { logits: tf.Tensor; h: tf.Tensor } {
  const h = block(p.block, tf.gather(p.embed, tokens)); // [B, L, D]
  return { logits: dense(p.head, h), h };
}

/** Mean cross-entropy of int labels, plus a small L2 term: {ce, l2, total}. */
export function lmLoss(
  p: LmParams,
  tokens: tf.Tensor,
  labels: tf.Tensor,
): { ce: tf.Tensor; l2: tf.Tensor; total: tf.Tensor } {
  const { logits } = lmForward(p, tokens);
  const logp = tf.logSoftmax(logits); // [B, L, V]
  const ce = tf.neg(tf.mean(tf.sum(tf.mul(logp, tf.oneHot(labels, LM.V)), -1)));
  const l2 = tf.mul(tf.sum(tf.square(p.head.w)), 1e-3);
  return { ce, l2, total: tf.add(ce, l2) };
}

export function lmBatch(seed: number): { tokens: tf.Tensor; labels: tf.Tensor } {
  const { B, L, V } = LM;
  const ids = (k: number) =>
    tf.tensor2d(Array.from({ length: B * L }, (_, i) => (i * 7 + k * 3 + seed) % V), [B, L], "int32");
  return { tokens: ids(1), labels: ids(2) };
}
