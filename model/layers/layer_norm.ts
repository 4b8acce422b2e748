/**
 * Layer normalisation (Ba et al. 2016) over the last axis, with a learned scale and bias.
 * eps defaults to 1e-6, as in Flax/big_vision ViT and TubeViT (PyTorch's default is 1e-5).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { ones, zeros } from "../../transforms/initializers.ts";
import { requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";

export type LayerNormConfig = { readonly dim: number };
/** scale: [D] (ones), bias: [D] (zeros) */
export type LayerNormParams = { readonly scale: tf.Tensor1D; readonly bias: tf.Tensor1D };

/** The key is unused (the init is deterministic) but kept so every layer has the same init signature. */
export function init(_key: Key, c: LayerNormConfig): LayerNormParams {
  requirePositiveInts("init layer_norm", { dim: c.dim });
  return { scale: ones([c.dim]) as tf.Tensor1D, bias: zeros([c.dim]) as tf.Tensor1D };
}

/** (x - mean) / sqrt(var + eps) * scale + bias over the last axis: [..., D] -> [..., D]. */
export function apply(p: LayerNormParams, x: tf.Tensor, opts: { readonly eps?: number } = {}): tf.Tensor {
  const [D] = p.scale.shape;
  expectShape(x, ["...", D], "layer_norm", "x");
  const eps = opts.eps ?? 1e-6;
  return tf.tidy(() => {
    const mean = tf.mean(x, -1, true); // [..., 1]
    const centred = tf.sub(x, mean);
    const variance = tf.mean(tf.square(centred), -1, true); // [..., 1], biased, as every framework's LN
    const normed = tf.mul(centred, tf.rsqrt(tf.add(variance, eps)));
    return tf.add(tf.mul(normed, p.scale), p.bias);
  });
}
