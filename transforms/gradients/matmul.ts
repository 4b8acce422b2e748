/**
 * Gradient of BatchMatMul, y = op(a) @ op(b) with op a transpose when transposeA/transposeB is set
 * and batch dimensions broadcast numpy-style. Each gradient is formed at the broadcast batch shape
 * and summed back over the batch axes its input was broadcast along.
 */
import * as tf from "@tensorflow/tfjs-core";
import { one, sumToShape } from "./_broadcast.ts";

/** dA and dB for each transpose combination, all written as matMuls with dy: [..., M, N]. */
function matMulGrads(
  dy: tf.Tensor,
  a: tf.Tensor,
  b: tf.Tensor,
  transposeA: boolean,
  transposeB: boolean,
): { da: () => tf.Tensor; db: () => tf.Tensor } {
  if (!transposeA && !transposeB) {
    // a: [M, K], b: [K, N]
    return { da: () => tf.matMul(dy, b, false, true), db: () => tf.matMul(a, dy, true, false) };
  }
  if (!transposeA && transposeB) {
    // a: [M, K], b: [N, K]
    return { da: () => tf.matMul(dy, b, false, false), db: () => tf.matMul(dy, a, true, false) };
  }
  if (transposeA && !transposeB) {
    // a: [K, M], b: [K, N]
    return { da: () => tf.matMul(b, dy, false, true), db: () => tf.matMul(a, dy, false, false) };
  }
  // a: [K, M], b: [N, K]
  return { da: () => tf.matMul(b, dy, true, true), db: () => tf.matMul(dy, a, true, true) };
}

export const MATMUL_GRADIENT: tf.GradConfig = {
  kernelName: "BatchMatMul",
  inputsToSave: ["a", "b"],
  gradFunc: (dy, [a, b], attrs) => {
    const fa = a.dtype === "float32" ? a : tf.cast(a, "float32");
    const fb = b.dtype === "float32" ? b : tf.cast(b, "float32");
    const { da, db } = matMulGrads(one(dy), fa, fb, attrs.transposeA as boolean, attrs.transposeB as boolean);
    return { a: () => sumToShape(da(), a.shape), b: () => sumToShape(db(), b.shape) };
  },
};
