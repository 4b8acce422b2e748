/**
 * Our gradient configs for tfjs-core kernels, registered with tf.registerGradient on import.
 * tfjs-core ships none of its own in the core bundle (they come with @tensorflow/tfjs, which also
 * drags in tfjs-layers, and tfjs-core's gradient files cannot be imported under Deno). These are
 * written from the maths with functional ops only, so they are differentiable again (grad of grad).
 *
 * Not kernels, so not listed: Squeeze (a Reshape), tf.logSoftmax and tf.fused.matMul (customGrad
 * ops whose gradients are built from the kernels here).
 */
import * as tf from "@tensorflow/tfjs-core";
import { ACTIVATION_GRADIENTS } from "./activation.ts";
import { ADD_N_GRADIENT, ARITHMETIC_GRADIENTS } from "./arithmetic.ts";
import { MATMUL_GRADIENT } from "./matmul.ts";
import { NON_DIFFERENTIABLE_GRADIENTS } from "./non_differentiable.ts";
import { REDUCTION_GRADIENTS } from "./reduction.ts";
import { SELECTION_GRADIENTS } from "./selection.ts";
import { SHAPE_GRADIENTS } from "./shape.ts";
import { SLICING_GRADIENTS } from "./slicing.ts";
import { LOG_SOFTMAX_GRADIENT, SOFTMAX_GRADIENT } from "./softmax.ts";
import { CAST_GRADIENT, UNARY_GRADIENTS } from "./unary.ts";

/** Every gradient config this module registers, one per kernel. */
export const GRADIENT_CONFIGS: readonly tf.GradConfig[] = [
  ...ARITHMETIC_GRADIENTS,
  ADD_N_GRADIENT,
  ...UNARY_GRADIENTS,
  CAST_GRADIENT,
  ...ACTIVATION_GRADIENTS,
  ...REDUCTION_GRADIENTS,
  MATMUL_GRADIENT,
  ...SHAPE_GRADIENTS,
  ...SLICING_GRADIENTS,
  ...SELECTION_GRADIENTS,
  SOFTMAX_GRADIENT,
  LOG_SOFTMAX_GRADIENT,
  ...NON_DIFFERENTIABLE_GRADIENTS,
];

/** tfjs kernel names that have a gradient once this module is imported (used by the exporter). */
export const DIFFERENTIABLE_KERNELS: readonly string[] = GRADIENT_CONFIGS.map((c) => c.kernelName);

/**
 * Marks our configs so that a second copy of this module (another URL for the same file, or a
 * re-import after a reload) recognises them and registers nothing.
 */
const OURS = Symbol.for("mirasol-ts/gradient");

/**
 * Registers every config whose kernel does not already carry one of ours; returns the kernel names
 * it registered, so a second call returns []. A gradient registered by someone else (for example
 * @tensorflow/tfjs) is replaced by ours; tfjs warns about that only with its DEBUG flag on.
 */
export function registerGradients(): readonly string[] {
  const registered: string[] = [];
  for (const config of GRADIENT_CONFIGS) {
    const current = tf.getGradient(config.kernelName) as (tf.GradConfig & { [OURS]?: true }) | undefined;
    if (current?.[OURS]) continue;
    tf.registerGradient({ ...config, [OURS]: true } as tf.GradConfig);
    registered.push(config.kernelName);
  }
  return registered;
}

registerGradients();
