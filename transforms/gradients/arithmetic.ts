/**
 * Gradients of the broadcasting binary kernels and AddN. Each partial derivative is computed at
 * the broadcast output shape and then summed back down to its input's shape (`sumToShape`).
 */
import * as tf from "@tensorflow/tfjs-core";
import { one, sumToShape, zeroGrad } from "./_broadcast.ts";

type Partial = (dy: tf.Tensor, a: tf.Tensor, b: tf.Tensor, y: tf.Tensor) => tf.Tensor;

/** A binary kernel with inputs {a, b}; partials see the saved inputs and, if asked, the output. */
function binary(kernelName: string, da: Partial, db: Partial, saveOutput = false): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ["a", "b"],
    outputsToSave: saveOutput ? [true] : undefined,
    gradFunc: (dy, saved) => {
      const [a, b, y] = saved;
      return {
        a: () => sumToShape(da(one(dy), a, b, y), a.shape),
        b: () => sumToShape(db(one(dy), a, b, y), b.shape),
      };
    },
  };
}

const float = (t: tf.Tensor) => (t.dtype === "float32" ? t : tf.cast(t, "float32"));

export const ARITHMETIC_GRADIENTS: readonly tf.GradConfig[] = [
  binary("Add", (dy) => dy, (dy) => dy),
  binary("Sub", (dy) => dy, (dy) => tf.neg(dy)),
  binary("Multiply", (dy, _a, b) => tf.mul(dy, float(b)), (dy, a) => tf.mul(dy, float(a))),
  binary(
    "RealDiv",
    (dy, _a, b) => tf.div(dy, float(b)),
    (dy, a, b) => tf.neg(tf.div(tf.mul(dy, float(a)), tf.square(float(b)))),
  ),
  // Ties go to a, as in TensorFlow (a >= b selects a for Maximum, a <= b for Minimum).
  binary(
    "Maximum",
    (dy, a, b) => tf.mul(dy, float(tf.greaterEqual(a, b))),
    (dy, a, b) => tf.mul(dy, float(tf.less(a, b))),
  ),
  binary(
    "Minimum",
    (dy, a, b) => tf.mul(dy, float(tf.lessEqual(a, b))),
    (dy, a, b) => tf.mul(dy, float(tf.greater(a, b))),
  ),
  binary(
    "SquaredDifference",
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(float(a), float(b)))),
    (dy, a, b) => tf.mul(dy, tf.mul(2, tf.sub(float(b), float(a)))),
  ),
  // d(a^b)/da = b a^(b-1); d(a^b)/db = a^b log a, taken as 0 where a <= 0 (log undefined), as TF does.
  binary(
    "Pow",
    (dy, a, b) => tf.mul(dy, tf.mul(float(b), tf.pow(float(a), tf.sub(float(b), 1)))),
    (dy, a, _b, y) => {
      const logA = tf.where(tf.greater(a, 0), tf.log(float(a)), tf.zerosLike(float(a)));
      return tf.mul(dy, tf.mul(float(y), logA));
    },
    true,
  ),
  // a mod b = a - floor(a / b) b
  binary("Mod", (dy) => dy, (dy, a, b) => tf.mul(dy, tf.neg(tf.floor(tf.div(float(a), float(b)))))),
  // atan2(a, b): d/da = b / (a^2 + b^2), d/db = -a / (a^2 + b^2)
  binary(
    "Atan2",
    (dy, a, b) => tf.div(tf.mul(dy, float(b)), tf.add(tf.square(float(a)), tf.square(float(b)))),
    (dy, a, b) => tf.div(tf.mul(dy, tf.neg(float(a))), tf.add(tf.square(float(a)), tf.square(float(b)))),
  ),
  // Piecewise constant: no gradient to either side.
  binary("FloorDiv", (_dy, a) => zeroGrad(a.shape), (_dy, _a, b) => zeroGrad(b.shape)),
];

/**
 * AddN adds same-shape tensors, so every input gets dy. The inputs are saved only to learn how many
 * there are (saving is a reference, not a copy); each gets a fresh tensor because the tape disposes
 * gradients as it accumulates them.
 */
export const ADD_N_GRADIENT: tf.GradConfig = {
  kernelName: "AddN",
  saveAllInputs: true,
  gradFunc: (dy, saved) => Object.fromEntries(saved.map((_, i) => [String(i), () => tf.clone(one(dy))])),
};
