/**
 * Gradients of the reductions (Sum, Mean, Max, Min, Prod) and of Cumsum. The upstream dy has the
 * reduced shape, or the keepDims shape; either way it is reshaped to keepDims and spread over x.
 */
import * as tf from "@tensorflow/tfjs-core";
import { keepDimsShape, normalizeAxis, one, reductionAxes, unreduce } from "./_broadcast.ts";

/**
 * Max and Min send the gradient to the elements equal to the result, split evenly among ties
 * (TensorFlow's rule, so that the total gradient mass is dy whatever the ties).
 */
function extremum(kernelName: "Max" | "Min", axisAttr: "reductionIndices" | "axis"): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ["x"],
    outputsToSave: [true],
    gradFunc: (dy, [x, y], attrs) => ({
      x: () => {
        const axes = reductionAxes(attrs[axisAttr], x.shape);
        const kept = keepDimsShape(x.shape, axes);
        const hits = tf.cast(tf.equal(x, tf.reshape(y, kept)), "float32");
        const share = tf.div(hits, tf.sum(hits, axes, true));
        return tf.mul(share, tf.reshape(one(dy), kept));
      },
    }),
  };
}

export const REDUCTION_GRADIENTS: readonly tf.GradConfig[] = [
  {
    kernelName: "Sum",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () => unreduce(one(dy), x.shape, reductionAxes(attrs.axis, x.shape)),
    }),
  },
  {
    kernelName: "Mean",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const axes = reductionAxes(attrs.axis, x.shape);
        const count = axes.reduce((n, a) => n * x.shape[a], 1);
        return tf.div(unreduce(one(dy), x.shape, axes), count);
      },
    }),
  },
  extremum("Max", "reductionIndices"),
  extremum("Min", "axis"),
  {
    // d(prod x)/dx_i = product of the others, taken as (exclusive cumprod from the left) * (from
    // the right) along the flattened reduced axes, which stays right when some x are zero.
    kernelName: "Prod",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const axes = reductionAxes(attrs.axis, x.shape);
        const kept = x.shape.map((_, i) => i).filter((i) => !axes.includes(i));
        const perm = [...kept, ...axes];
        const permuted = tf.transpose(tf.cast(x, "float32"), perm); // [kept..., reduced...]
        const outer = kept.reduce((n, a) => n * x.shape[a], 1);
        const flat = tf.reshape(permuted, [outer, -1]); // [O, R]
        const others = tf.mul(tf.cumprod(flat, 1, true, false), tf.cumprod(flat, 1, true, true));
        const g = tf.mul(others, tf.reshape(one(dy), [outer, 1]));
        const inverse = perm.map((_, i) => perm.indexOf(i));
        return tf.transpose(tf.reshape(g, permuted.shape), inverse);
      },
    }),
  },
  {
    // The adjoint of a running sum is the running sum in the other direction.
    kernelName: "Cumsum",
    gradFunc: (dy, _saved, attrs) => {
      const g = one(dy);
      const axis = normalizeAxis(attrs.axis as number, g.rank);
      return { x: () => tf.cumsum(g, axis, attrs.exclusive as boolean, !(attrs.reverse as boolean)) };
    },
  },
];
