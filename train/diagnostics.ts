/**
 * Is the latent loss learnt or collapsed? The latent model is trained so that h_t predicts x_{t+1}
 * (cosine); with the target not stop-gradient, the Combiner can also make x_{t+1} trivially
 * predictable by making x the same for every sample and token. These numbers tell the two apart:
 *
 * - `x_spread_samples`, `x_spread_tokens`: the standard deviation of x across the samples of a batch
 *   (same chunk, token, feature), and across the m tokens of a chunk, each over the RMS of x. A
 *   collapsed Combiner drives them to 0.
 * - `x_rank`: the effective rank of the x vectors (participation ratio of their covariance's
 *   eigenvalues, tr(C)^2 / tr(C^2), between 1 and D); computed with matmuls only, so it exports.
 * - `latent` and `latent_shuffled`: the latent loss, and the same with every sample's targets taken
 *   from another sample of the batch. A latent model that predicts its own video beats the shuffled
 *   baseline; one that only learnt a constant target scores the same on both.
 *
 * Inference semantics (no masking, no dropout), on whatever batch is given; B >= 2 for the
 * across-sample numbers.
 *
 * Letters: B batch, T chunks, m tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MirasolBatch } from "../model/inputs.ts";
import { latentLoss } from "../model/losses.ts";
import { forward, type ForwardOptions, type MirasolParams } from "../model/mirasol.ts";

export type CollapseDiagnostics = {
  readonly x_spread_samples: tf.Scalar;
  readonly x_spread_tokens: tf.Scalar;
  readonly x_rank: tf.Scalar;
  readonly latent: tf.Scalar;
  readonly latent_shuffled: tf.Scalar;
};

/** Mean over everything else of the standard deviation along `axis`, over the RMS of x. */
function spread(x: tf.Tensor, axis: number): tf.Scalar {
  const { variance } = tf.moments(x, axis);
  const rms = tf.sqrt(tf.add(tf.mean(tf.square(x)), 1e-12));
  return tf.div(tf.mean(tf.sqrt(tf.add(variance, 1e-12))), rms) as tf.Scalar;
}

/** tr(C)^2 / tr(C^2) of the covariance C of the rows of v [N, D]: the effective number of directions. */
export function effectiveRank(v: tf.Tensor2D): tf.Scalar {
  return tf.tidy(() => {
    const centred = tf.sub(v, tf.mean(v, 0, true));
    const c = tf.div(tf.matMul(centred, centred, true, false), v.shape[0]); // [D, D]
    const trace = tf.sum(tf.mul(c, tf.eye(c.shape[0])));
    return tf.div(tf.square(trace), tf.add(tf.sum(tf.square(c)), 1e-12)) as tf.Scalar; // tr(C^2) = |C|_F^2 for symmetric C
  });
}

/** The diagnostics of x and h [B, T, m, D] (see the module comment). */
export function collapseDiagnostics(x: tf.Tensor4D, h: tf.Tensor4D): CollapseDiagnostics {
  const [B, T, m, D] = x.shape;
  return tf.tidy(() => {
    // Sample b's targets from sample b+1 (mod B): a prediction that ignores the video scores the same.
    const shuffled = tf.concat([
      tf.slice(x, [1, 0, 0, 0], [B - 1, T, m, D]),
      tf.slice(x, [0, 0, 0, 0], [1, T, m, D]),
    ], 0);
    return {
      x_spread_samples: spread(x, 0),
      x_spread_tokens: spread(x, 2),
      x_rank: effectiveRank(tf.reshape(x, [B * T * m, D]) as tf.Tensor2D),
      latent: latentLoss(h, x),
      latent_shuffled: latentLoss(h, shuffled),
    };
  });
}

/** `collapseDiagnostics` of the model's own x and h on `batch` (inference: no masking, no dropout). */
export function diagnose(
  p: MirasolParams,
  batch: MirasolBatch,
  opts: Omit<ForwardOptions, "train" | "key">,
): CollapseDiagnostics {
  return tf.tidy(() => {
    const out = forward(p, batch, { ...opts, train: false });
    return collapseDiagnostics(out.x, out.h);
  });
}
