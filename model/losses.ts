/**
 * Losses (§3.5).
 * - latent: 1 - mean cosine between L2-normalised h_t and x_{t+1}, t = 1..T-1, per token: the
 *   j-th output of chunk t predicts the j-th Combiner output of chunk t+1 (each token is a "feature
 *   vector", §3.5; lucidrains flattens the m*D chunk into one vector instead). Gradients reach x
 *   through both the latent model and the target unless `latentStopGradient` (see config.ts).
 * - reconstruction: the same metric between the prediction from h_t and v_small of chunk t+1
 *   (plus the pooled spectrogram when audio reconstruction is on; the two are averaged).
 * - text: cross-entropy of logits[:, l-1] against text[:, l] at the positions l >= 1 where
 *   lossMask * textMask is non-zero, averaged over those positions (padding is never scored).
 * With T = 1 there is no next chunk: the latent and reconstruction terms are 0.
 * `shift: 0` scores the prediction made at chunk t against chunk t itself: the bidirectional
 * ablation's masked-chunk objective (masked_chunks.ts), where h_t would otherwise see its target.
 *
 * Letters: B batch, T chunks, m tokens per chunk, D width, P target size, L text length, V vocab.
 */
import * as tf from "@tensorflow/tfjs-core";
// One StopGradient kernel (not a customGrad), so tracing records it and the export lowers it.
import { stopGradient } from "../transforms/prng_kernels.ts";

/** x / |x| over the last axis; an all-zero vector stays zero (no NaN). */
export function l2Normalize(x: tf.Tensor): tf.Tensor {
  return tf.div(x, tf.sqrt(tf.add(tf.sum(tf.square(x), -1, true), 1e-12)));
}

/** 1 - mean cosine similarity over the last axis: pred, target [..., P] -> scalar. */
export function cosineDistance(pred: tf.Tensor, target: tf.Tensor): tf.Scalar {
  return tf.tidy(() =>
    tf.sub(1, tf.mean(tf.sum(tf.mul(l2Normalize(pred), l2Normalize(target)), -1))) as tf.Scalar
  );
}

export { stopGradient };

/** Steps 1..T-1 of a prediction and steps 2..T of a target along axis 1 (shift 1); both whole (shift 0). */
function shifted(pred: tf.Tensor, target: tf.Tensor, shift: 0 | 1 = 1): [tf.Tensor, tf.Tensor] {
  if (shift === 0) return [pred, target];
  const T = pred.shape[1] ?? 0;
  const size = (t: tf.Tensor) => [t.shape[0], T - 1, ...t.shape.slice(2)];
  const zeros = pred.shape.map(() => 0);
  const from1 = zeros.map((z, i) => (i === 1 ? 1 : z));
  return [tf.slice(pred, zeros, size(pred)), tf.slice(target, from1, size(target))];
}

/** h, x [B, T, m, D] -> 1 - mean_t,j cos(h_t,j, x_{t+shift},j) (shift 1 by default). */
export function latentLoss(
  h: tf.Tensor,
  x: tf.Tensor,
  opts: { stopGradient?: boolean; shift?: 0 | 1 } = {},
): tf.Scalar {
  const shift = opts.shift ?? 1;
  if ((h.shape[1] ?? 0) < 1 + shift) return tf.scalar(0);
  return tf.tidy(() => {
    const [pred, target] = shifted(h, x, shift); // [B, T-shift, m, D] each
    return cosineDistance(pred, opts.stopGradient ? stopGradient(target) : target);
  });
}

/** pred, target [B, T, P]: 1 - mean_t cos(pred_t, target_{t+shift}) (shift 1 by default). */
export function reconstructionLoss(
  pred: tf.Tensor,
  target: tf.Tensor,
  opts: { shift?: 0 | 1 } = {},
): tf.Scalar {
  const shift = opts.shift ?? 1;
  if ((pred.shape[1] ?? 0) < 1 + shift) return tf.scalar(0);
  return tf.tidy(() => {
    const [p, t] = shifted(pred, target, shift);
    return cosineDistance(p, t);
  });
}

/** logits [B, L, V], text/textMask/lossMask [B, L] -> mean next-token cross-entropy over scored positions. */
export function textLoss(
  logits: tf.Tensor,
  text: tf.Tensor,
  textMask: tf.Tensor,
  lossMask: tf.Tensor,
): tf.Scalar {
  const [B, L, V] = (logits as tf.Tensor3D).shape;
  if (L < 2) return tf.scalar(0);
  return tf.tidy(() => {
    const pred = tf.slice(logits, [0, 0, 0], [B, L - 1, V]); // [B, L-1, V] predicts tokens 1..L-1
    const target = tf.slice(text, [0, 1], [B, L - 1]); // [B, L-1]
    const weight = tf.mul(
      tf.cast(tf.slice(lossMask, [0, 1], [B, L - 1]), "float32"),
      tf.cast(tf.greater(tf.cast(tf.slice(textMask, [0, 1], [B, L - 1]), "float32"), 0), "float32"),
    ); // [B, L-1]
    const onehot = tf.cast(tf.oneHot(tf.reshape(tf.cast(target, "int32"), [-1]), V), "float32"); // [B*(L-1), V]
    const logp = tf.logSoftmax(tf.reshape(pred, [B * (L - 1), V])); // [B*(L-1), V]
    const nll = tf.neg(tf.sum(tf.mul(onehot, logp), -1)); // [B*(L-1)]
    const w = tf.reshape(weight, [-1]);
    return tf.div(tf.sum(tf.mul(nll, w)), tf.maximum(tf.sum(w), 1)) as tf.Scalar;
  });
}

export type LossTerms = {
  readonly latent: tf.Scalar;
  readonly reconstruction: tf.Scalar;
  readonly text: tf.Scalar;
};

/** The weighted sum (§3.6: 1:1:1 in pretraining, text x10 when finetuning). */
export function totalLoss(
  terms: LossTerms,
  weights: { latent: number; reconstruction: number; text: number },
): tf.Scalar {
  return tf.tidy(() =>
    tf.addN([
      tf.mul(terms.latent, weights.latent),
      tf.mul(terms.reconstruction, weights.reconstruction),
      tf.mul(terms.text, weights.text),
    ]) as tf.Scalar
  );
}
