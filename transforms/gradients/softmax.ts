/**
 * Gradient of Softmax along `dim`: dx = y * (dy - sum(dy * y, dim)), the Jacobian-vector product of
 * diag(y) - y y^T, computed from the saved output without forming the Jacobian.
 */
import * as tf from "@tensorflow/tfjs-core";
import { normalizeAxis, one } from "./_broadcast.ts";

export const SOFTMAX_GRADIENT: tf.GradConfig = {
  kernelName: "Softmax",
  outputsToSave: [true],
  gradFunc: (dy, [y], attrs) => {
    const dim = normalizeAxis(attrs.dim as number, y.rank);
    return {
      logits: () => {
        const g = one(dy);
        return tf.mul(y, tf.sub(g, tf.sum(tf.mul(g, y), dim, true)));
      },
    };
  },
};

/** LogSoftmax (a kernel in TF graphs; tf.logSoftmax itself is a customGrad op): dx = dy - softmax * sum(dy). */
export const LOG_SOFTMAX_GRADIENT: tf.GradConfig = {
  kernelName: "LogSoftmax",
  outputsToSave: [true],
  gradFunc: (dy, [y], attrs) => {
    const axis = normalizeAxis(attrs.axis as number, y.rank);
    return { logits: () => tf.sub(one(dy), tf.mul(tf.exp(y), tf.sum(one(dy), axis, true))) };
  },
};
