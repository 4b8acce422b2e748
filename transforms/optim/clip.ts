/**
 * Gradient clipping by global norm (Pascanu et al. 2013; optax.clip_by_global_norm, Keras
 * global_clipnorm): when the L2 norm of all leaves together exceeds maxNorm, every leaf is scaled
 * by maxNorm / norm, so the direction is kept and the norm becomes maxNorm.
 */
import * as tf from "@tensorflow/tfjs-core";
import { treeLeaves } from "../tree.ts";
import { type GradientTransformation, OptimError, type Params, tidyUpdate, zipMap } from "./chain.ts";

/** sqrt of the sum of squares of every element of every leaf (0 for an empty tree). */
export function globalNorm(tree: Params): tf.Scalar {
  return tf.tidy(() => {
    const leaves = treeLeaves(tree);
    if (leaves.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(leaves.map((l) => tf.sum(tf.square(l))))) as tf.Scalar;
  });
}

/** Scales updates by min(1, maxNorm / globalNorm(updates)); stateless. */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  if (!(maxNorm > 0 && Number.isFinite(maxNorm))) {
    throw new OptimError("clipByGlobalNorm", `maxNorm must be a positive finite number, got ${maxNorm}`);
  }
  return {
    init: () => ({}),
    update<P extends Params>(updates: P) {
      return tidyUpdate<P>(() => {
        const scale = tf.div(maxNorm, tf.maximum(globalNorm(updates), maxNorm)); // 1 when within bounds
        return { updates: zipMap([updates], ([u]) => tf.mul(u, scale)), state: {} };
      });
    },
  };
}
