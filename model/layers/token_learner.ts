/**
 * TokenLearner v1.1 (Ryoo et al. 2021; scenic `TokenLearnerModuleV11`): learns `outTokens` soft
 * selections over the N input tokens and returns their weighted sums.
 *
 *   LayerNorm -> MLP(D -> hidden -> outTokens) -> transpose -> softmax over the N inputs -> weights . x
 *
 * As in scenic, the MLP uses the tanh GELU (Flax's nn.gelu default), xavier-uniform kernels and
 * normal(1e-6) biases, and the weighted sums are over the raw inputs, not the normalised ones. Each
 * output token is a convex combination of input tokens (weights are positive and sum to 1).
 *
 * Letters: B batch, N input tokens, S output tokens, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { normalInit } from "../../transforms/initializers.ts";
import { requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";
import * as dense from "./dense.ts";
import * as layerNorm from "./layer_norm.ts";
import * as mlp from "./mlp.ts";

export type TokenLearnerConfig = {
  readonly dim: number;
  readonly outTokens: number;
  /** bottleneck width of the selection MLP (scenic: 64) */
  readonly hidden?: number;
};

/** ln: [D]; mlp.fc1.w: [D, hidden], mlp.fc2.w: [hidden, S] */
export type TokenLearnerParams = { readonly ln: layerNorm.LayerNormParams; readonly mlp: mlp.MlpParams };

export type TokenLearnerOptions = { readonly train?: boolean; readonly key?: Key; readonly dropout?: number };

/** A dense layer with scenic MlpBlock's normal(1e-6) bias instead of a zero one. */
function denseWithTinyBias(key: Key, inDim: number, outDim: number): dense.DenseParams {
  const k = keysFor(key, ["w", "b"]);
  const { w } = dense.init(k.w, { inDim, outDims: [outDim], bias: false });
  return { w, b: normalInit(k.b, [outDim], 1e-6) };
}

export function init(key: Key, c: TokenLearnerConfig): TokenLearnerParams {
  const hidden = c.hidden ?? 64;
  requirePositiveInts("init token_learner", { dim: c.dim, outTokens: c.outTokens, hidden });
  const k = keysFor(key, ["ln", "fc1", "fc2"]);
  return {
    ln: layerNorm.init(k.ln, { dim: c.dim }),
    mlp: { fc1: denseWithTinyBias(k.fc1, c.dim, hidden), fc2: denseWithTinyBias(k.fc2, hidden, c.outTokens) },
  };
}

/** The selection weights: [B, N, D] -> [B, S, N], softmax over N (each row sums to 1). */
export function selectionWeights(
  p: TokenLearnerParams,
  x: tf.Tensor,
  opts: TokenLearnerOptions = {},
): tf.Tensor3D {
  expectShape(x, ["B", "N", p.ln.scale.shape[0]], "token_learner", "x");
  return tf.tidy(() => {
    const logits = mlp.apply(p.mlp, layerNorm.apply(p.ln, x), { ...opts, gelu: "tanh" }); // [B, N, S]
    return tf.softmax(tf.transpose(logits, [0, 2, 1])) as tf.Tensor3D; // [B, S, N]
  });
}

/** x [B, N, D] -> [B, S, D]: S learned weighted sums of the N input tokens. */
export function apply(p: TokenLearnerParams, x: tf.Tensor, opts: TokenLearnerOptions = {}): tf.Tensor3D {
  expectShape(x, ["B", "N", p.ln.scale.shape[0]], "token_learner", "x");
  return tf.tidy(() => tf.matMul(selectionWeights(p, x, opts), x) as tf.Tensor3D); // [B, S, N] . [B, N, D]
}
