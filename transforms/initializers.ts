/**
 * Parameter initialisers. Layers create every parameter through these (never tf.zeros or
 * tf.randomNormal), so that under `evalAbstract` a 3B-parameter init costs no memory.
 *
 * Weights are [in, ...out]; fan-in is the first dimension's size and fan-out the product of the rest
 * unless given (attention's q/k/v are [D, H, Dh]: fan-out H*Dh).
 */
import * as tf from "@tensorflow/tfjs-core";
import { abstractTensor, isAbstract } from "./abstract.ts";
import { type Key, normal, truncatedNormal, uniform } from "./random.ts";

type Shape = readonly number[];
export type Fans = { readonly fanIn: number; readonly fanOut: number };

function defaultFans(shape: Shape): Fans {
  const [fanIn = 1, ...rest] = shape;
  return { fanIn, fanOut: rest.reduce((a, b) => a * b, 1) };
}

export function zeros(shape: Shape, dtype: "float32" | "int32" = "float32"): tf.Tensor {
  if (isAbstract()) return abstractTensor(shape, dtype);
  return tf.zeros(shape as number[], dtype);
}

export function ones(shape: Shape, dtype: "float32" | "int32" = "float32"): tf.Tensor {
  if (isAbstract()) return abstractTensor(shape, dtype);
  return tf.ones(shape as number[], dtype);
}

/** Glorot & Bengio (2010): U(-a, a), a = sqrt(6 / (fanIn + fanOut)). Flax's and big_vision's ViT default. */
export function xavierUniform(key: Key, shape: Shape, fans: Fans = defaultFans(shape)): tf.Tensor {
  const limit = Math.sqrt(6 / (fans.fanIn + fans.fanOut));
  return uniform(key, shape, { min: -limit, max: limit });
}

/** LeCun normal: N(0, 1/fanIn), truncated at 2 std as in jax.nn.initializers.lecun_normal. */
export function lecunNormal(key: Key, shape: Shape, fans: Fans = defaultFans(shape)): tf.Tensor {
  // 0.8796... is the std of a standard normal truncated to [-2, 2]; dividing keeps the variance 1/fanIn.
  return truncatedNormal(key, shape, { std: Math.sqrt(1 / fans.fanIn) / 0.87962566103423978 });
}

/** Truncated normal with a given std (2-std truncation), e.g. 0.02 for embeddings (BERT, GPT-2). */
export function truncNormal(key: Key, shape: Shape, std: number): tf.Tensor {
  return truncatedNormal(key, shape, { std });
}

/** Plain normal with a given std, e.g. 1e-6 for TokenLearner MLP biases (scenic). */
export function normalInit(key: Key, shape: Shape, std: number): tf.Tensor {
  return normal(key, shape, { std });
}
