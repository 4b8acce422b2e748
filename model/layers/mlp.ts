/**
 * Two-layer feed-forward block: dense -> GELU -> dropout -> dense -> dropout, as the ViT MlpBlock
 * (Dosovitskiy et al. 2021; Flax/big_vision). GELU is exact, 0.5 x (1 + erf(x / sqrt 2)), unless
 * `gelu: "tanh"` asks for the tanh approximation (Flax's nn.gelu default, which scenic's
 * TokenLearner uses).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";
import * as dense from "./dense.ts";
import * as dropout from "./dropout.ts";

export type MlpConfig = { readonly dim: number; readonly hidden: number; readonly outDim?: number };
/** fc1.w: [D, hidden], fc2.w: [hidden, outDim ?? D] */
export type MlpParams = { readonly fc1: dense.DenseParams; readonly fc2: dense.DenseParams };

export type MlpOptions = {
  readonly train?: boolean;
  readonly key?: Key;
  /** dropout rate after the activation and after the output (default 0) */
  readonly dropout?: number;
  /** "exact" (default) or the tanh approximation */
  readonly gelu?: "exact" | "tanh";
};

export function init(key: Key, c: MlpConfig): MlpParams {
  requirePositiveInts("init mlp", { dim: c.dim, hidden: c.hidden, outDim: c.outDim });
  const k = keysFor(key, ["fc1", "fc2"]);
  return {
    fc1: dense.init(k.fc1, { inDim: c.dim, outDims: [c.hidden] }),
    fc2: dense.init(k.fc2, { inDim: c.hidden, outDims: [c.outDim ?? c.dim] }),
  };
}

/** Exact GELU: 0.5 x (1 + erf(x / sqrt 2)). */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => tf.mul(tf.mul(x, 0.5), tf.add(tf.erf(tf.mul(x, Math.SQRT1_2)), 1)));
}

/** tanh GELU: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))) (Hendrycks & Gimpel 2016). */
export function geluTanh(x: tf.Tensor): tf.Tensor {
  return tf.tidy(() => {
    const inner = tf.mul(tf.add(x, tf.mul(tf.mul(tf.mul(x, x), x), 0.044715)), Math.sqrt(2 / Math.PI));
    return tf.mul(tf.mul(x, 0.5), tf.add(tf.tanh(inner), 1));
  });
}

/** x [..., D] -> [..., outDim ?? D]. */
export function apply(p: MlpParams, x: tf.Tensor, opts: MlpOptions = {}): tf.Tensor {
  expectShape(x, ["...", p.fc1.w.shape[0]], "mlp", "x");
  const rate = opts.dropout ?? 0;
  const train = opts.train ?? false;
  const k = opts.key ? keysFor(opts.key, ["hidden", "out"]) : undefined;
  const activation = opts.gelu === "tanh" ? geluTanh : gelu;
  return tf.tidy(() => {
    let h = activation(dense.apply(p.fc1, x)); // [..., hidden]
    h = dropout.apply(h, { rate, train, key: k?.hidden });
    const y = dense.apply(p.fc2, h); // [..., outDim]
    return dropout.apply(y, { rate, train, key: k?.out });
  });
}
