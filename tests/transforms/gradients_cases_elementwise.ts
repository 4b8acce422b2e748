/**
 * Gradient checks for elementwise kernels (not a test file; gradients_elementwise_test.ts runs them).
 * Binary kernels are checked with each side broadcast, and kinked functions on inputs from
 * `distinct`, which keeps every value clear of the kink.
 */
import * as tf from "@tensorflow/tfjs-core";
import { distinct, distinctSplit, type GradCase, normal, uniform } from "./gradients_numeric.ts";

/** Broadcast layouts every binary kernel is checked on: [a shape, b shape, label]. */
const LAYOUTS: readonly [number[], number[], string][] = [
  [[2, 3], [2, 3], "same shapes"],
  [[2, 3], [3], "b [3] broadcast over rows of a [2, 3]"],
  [[2, 1], [1, 3], "a [2, 1] and b [1, 3] broadcast both ways"],
  [[], [2, 3], "a scalar against b [2, 3]"],
  [[2, 2, 3], [2, 1, 1], "b [2, 1, 1] against a [2, 2, 3]"],
];

function binaryCases(
  kernel: string,
  f: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor,
  inputs: (r: () => number, sa: number[], sb: number[]) => tf.Tensor[],
): GradCase[] {
  return LAYOUTS.map(([sa, sb, label]) => ({ kernel, name: label, inputs: (r) => inputs(r, sa, sb), f }));
}

const twoNormals = (r: () => number, sa: number[], sb: number[]) => [normal(r, sa), normal(r, sb)];
const twoDistinct = (r: () => number, sa: number[], sb: number[]) => distinctSplit(r, [sa, sb]);
const positiveBase = (r: () => number, sa: number[], sb: number[]) => [uniform(r, sa, 0.5, 2), normal(r, sb)];
const awayFromZero = (r: () => number, sa: number[], sb: number[]) => [
  normal(r, sa),
  tf.tidy(() => {
    const b = uniform(r, sb, 0.5, 2);
    return tf.mul(b, tf.sign(normal(r, sb)));
  }),
];

export const ARITHMETIC_CASES: readonly GradCase[] = [
  ...binaryCases("Add", tf.add, twoNormals),
  ...binaryCases("Sub", tf.sub, twoNormals),
  ...binaryCases("Multiply", tf.mul, twoNormals),
  ...binaryCases("RealDiv", tf.div, awayFromZero),
  ...binaryCases("Maximum", tf.maximum, twoDistinct),
  ...binaryCases("Minimum", tf.minimum, twoDistinct),
  ...binaryCases("SquaredDifference", tf.squaredDifference, twoNormals),
  ...binaryCases("Pow", tf.pow, positiveBase),
  ...binaryCases("Atan2", tf.atan2, awayFromZero),
  {
    kernel: "Pow",
    name: "negative base with integer exponent (base gradient only)",
    inputs: (r) => [tf.neg(uniform(r, [2, 3], 0.5, 2))],
    f: (a) => tf.pow(a, tf.scalar(3)),
  },
  {
    // mod is smooth away from the multiples of b: keep a / b off integers.
    kernel: "Mod",
    name: "a mod b with b [3] broadcast",
    inputs: () => [tf.tensor2d([[0.7, 2.3, -1.3], [3.9, -2.6, 5.2]]), tf.tensor1d([1.5, 2.0, 2.5])],
    f: tf.mod,
  },
  {
    kernel: "FloorDiv",
    name: "floorDiv is piecewise constant",
    inputs: () => [tf.tensor2d([[0.7, 2.3, -1.3], [3.9, -2.6, 5.2]]), tf.tensor1d([1.5, 2.0, 2.5])],
    f: (a, b) => tf.add(tf.floorDiv(a, b), tf.mul(a, b)),
  },
  {
    kernel: "AddN",
    name: "three inputs, one of them used twice",
    inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 3])],
    f: (a, b) => tf.addN([a, tf.mul(b, 2), a]),
  },
];

type Unary = [string, (x: tf.Tensor) => tf.Tensor, (r: () => number, s: number[]) => tf.Tensor];

const UNARIES: readonly Unary[] = [
  ["Neg", tf.neg, normal],
  ["Abs", tf.abs, distinct],
  ["Square", tf.square, normal],
  ["Sqrt", tf.sqrt, (r, s) => uniform(r, s, 0.3, 3)],
  ["Rsqrt", tf.rsqrt, (r, s) => uniform(r, s, 0.3, 3)],
  ["Reciprocal", tf.reciprocal, (r, s) => uniform(r, s, 0.5, 3)],
  ["Exp", tf.exp, normal],
  ["Expm1", tf.expm1, normal],
  ["Log", tf.log, (r, s) => uniform(r, s, 0.3, 3)],
  ["Log1p", tf.log1p, (r, s) => uniform(r, s, -0.5, 3)],
  ["Erf", tf.erf, normal],
  ["Sin", tf.sin, normal],
  ["Cos", tf.cos, normal],
  ["Tan", tf.tan, (r, s) => uniform(r, s, -1.2, 1.2)],
  ["Sinh", tf.sinh, normal],
  ["Cosh", tf.cosh, normal],
  ["Asin", tf.asin, (r, s) => uniform(r, s, -0.8, 0.8)],
  ["Acos", tf.acos, (r, s) => uniform(r, s, -0.8, 0.8)],
  ["Atan", tf.atan, normal],
  ["Asinh", tf.asinh, normal],
  ["Acosh", tf.acosh, (r, s) => uniform(r, s, 1.3, 3)],
  ["Atanh", tf.atanh, (r, s) => uniform(r, s, -0.8, 0.8)],
  ["Identity", tf.clone, normal],
  ["Tanh", tf.tanh, normal],
  ["Sigmoid", tf.sigmoid, normal],
  ["Softplus", tf.softplus, normal],
  ["Relu", tf.relu, distinct],
  ["Relu6", tf.relu6, (r, s) => tf.tidy(() => tf.mul(distinct(r, s), 30))],
  ["LeakyRelu", (x) => tf.leakyRelu(x, 0.3), distinct],
  ["Elu", tf.elu, distinct],
  ["Selu", tf.selu, distinct],
  ["ClipByValue", (x) => tf.clipByValue(x, -0.3, 0.4), distinct],
];

export const UNARY_CASES: readonly GradCase[] = [
  ...UNARIES.map(([kernel, f, input]): GradCase => ({
    kernel,
    name: "on a [2, 3] input",
    inputs: (r) => [input(r, [2, 3])],
    f,
  })),
  {
    kernel: "Prelu",
    name: "x [2, 3] with per-channel alpha [3]",
    inputs: (r) => [distinct(r, [2, 3]), uniform(r, [3], 0.1, 0.5)],
    f: (x, a) => tf.prelu(x, a),
  },
  {
    kernel: "Cast",
    name: "float32 to float32 passes the gradient",
    inputs: (r) => [normal(r, [2, 3])],
    f: (x) => tf.mul(tf.cast(x, "float32"), x),
  },
  {
    kernel: "Cast",
    name: "float32 to int32 and back gives no gradient through the cast",
    inputs: (r) => [tf.tidy(() => tf.mul(distinct(r, [2, 3]), 7))],
    f: (x) => tf.add(tf.cast(tf.cast(x, "int32"), "float32"), tf.mul(x, 0.5)),
  },
];

/** Piecewise-constant kernels: their gradient is zero, so only the smooth term contributes. */
export const ZERO_GRADIENT_CASES: readonly GradCase[] = [
  ...([
    ["Floor", tf.floor],
    ["Ceil", tf.ceil],
    ["Round", tf.round],
    ["Sign", tf.sign],
    ["Step", (x: tf.Tensor) => tf.step(x, 0.2)],
    ["ZerosLike", tf.zerosLike],
    ["OnesLike", tf.onesLike],
  ] as const).map(([kernel, g]): GradCase => ({
    kernel,
    name: "contributes nothing",
    inputs: (r) => [tf.tidy(() => tf.mul(distinct(r, [2, 3]), 7))],
    f: (x) => tf.add(tf.mul(g(x), x), x),
  })),
  ...([
    ["Equal", tf.equal],
    ["NotEqual", tf.notEqual],
    ["Greater", tf.greater],
    ["GreaterEqual", tf.greaterEqual],
    ["Less", tf.less],
    ["LessEqual", tf.lessEqual],
  ] as const).map(([kernel, cmp]): GradCase => ({
    kernel,
    name: "a comparison inside tf.where",
    inputs: (r) => distinctSplit(r, [[2, 3], [3]]),
    f: (a, b) => tf.where(cmp(a, b), tf.mul(a, 2), tf.mul(b, 3)),
  })),
  ...([["LogicalAnd", tf.logicalAnd], ["LogicalOr", tf.logicalOr]] as const).map(
    ([kernel, op]): GradCase => ({
      kernel,
      name: "a mask from comparisons",
      inputs: (r) => [distinct(r, [2, 3])],
      f: (x) => tf.mul(tf.cast(op(tf.greater(x, 0), tf.less(x, 0.2)), "float32"), tf.square(x)),
    }),
  ),
  {
    kernel: "LogicalNot",
    name: "a negated mask",
    inputs: (r) => [distinct(r, [2, 3])],
    f: (x) => tf.mul(tf.cast(tf.logicalNot(tf.greater(x, 0)), "float32"), tf.square(x)),
  },
  ...([["IsNan", tf.isNaN], ["IsInf", tf.isInf], ["IsFinite", tf.isFinite]] as const).map((
    [kernel, op],
  ): GradCase => ({
    kernel,
    name: "a finiteness mask",
    inputs: (r) => [normal(r, [2, 3])],
    f: (x) => tf.mul(tf.cast(op(x), "float32"), tf.square(x)),
  })),
  ...([["All", tf.all], ["Any", tf.any]] as const).map(([kernel, op]): GradCase => ({
    kernel,
    name: "a row-wise mask",
    inputs: (r) => [distinct(r, [2, 3])],
    f: (x) => tf.mul(tf.cast(op(tf.greater(x, -0.2), 1, true), "float32"), tf.square(x)),
  })),
  ...([["ArgMax", tf.argMax], ["ArgMin", tf.argMin]] as const).map(([kernel, op]): GradCase => ({
    kernel,
    name: "one-hot of the arg-extremum",
    inputs: (r) => [distinct(r, [2, 3])],
    f: (x) => tf.mul(tf.cast(tf.oneHot(op(x, 1), 3), "float32"), x),
  })),
  {
    kernel: "OneHot",
    name: "one-hot of indices computed from x",
    inputs: (r) => [tf.tidy(() => tf.add(tf.mul(distinct(r, [4]), 7), 1.5))], // 0.275, 0.975, 1.675, 2.375
    f: (x) => tf.mul(tf.oneHot(tf.cast(tf.floor(x), "int32"), 3), tf.reshape(x, [4, 1])),
  },
];
