/**
 * Gradient checks for reductions, matmul, softmax and the kernels that move elements (not a test
 * file; gradients_structural_test.ts runs them). Attr variants: keepDims, negative axes, every
 * concat axis, transposes, strides > 1 and negative, gather along inner axes and batch dims.
 */
import * as tf from "@tensorflow/tfjs-core";
import { distinct, distinctSplit, type GradCase, normal, uniform } from "./gradients_numeric.ts";

const on = (shape: number[], make = normal) => (r: () => number) => [make(r, shape)];

export const REDUCTION_CASES: readonly GradCase[] = [
  { kernel: "Sum", name: "over everything", inputs: on([2, 3]), f: (x) => tf.sum(x) },
  { kernel: "Sum", name: "over axis 1 of [2, 3, 4]", inputs: on([2, 3, 4]), f: (x) => tf.sum(x, 1) },
  {
    kernel: "Sum",
    name: "over axes [0, 2] with keepDims",
    inputs: on([2, 3, 4]),
    f: (x) => tf.sum(x, [0, 2], true),
  },
  { kernel: "Sum", name: "over axis -1", inputs: on([2, 3]), f: (x) => tf.sum(x, -1) },
  { kernel: "Mean", name: "over everything", inputs: on([2, 3]), f: (x) => tf.mean(x) },
  {
    kernel: "Mean",
    name: "over axis -1 with keepDims",
    inputs: on([2, 3, 4]),
    f: (x) => tf.mean(x, -1, true),
  },
  { kernel: "Mean", name: "over axes [0, 1]", inputs: on([2, 3, 4]), f: (x) => tf.mean(x, [0, 1]) },
  { kernel: "Max", name: "over axis 1", inputs: on([2, 3, 4], distinct), f: (x) => tf.max(x, 1) },
  { kernel: "Max", name: "over everything", inputs: on([2, 3], distinct), f: (x) => tf.max(x) },
  {
    kernel: "Max",
    name: "over axis -1 with keepDims",
    inputs: on([2, 3], distinct),
    f: (x) => tf.max(x, -1, true),
  },
  { kernel: "Min", name: "over axis 0", inputs: on([3, 4], distinct), f: (x) => tf.min(x, 0) },
  {
    kernel: "Min",
    name: "over axes [1, 2] with keepDims",
    inputs: on([2, 3, 2], distinct),
    f: (x) => tf.min(x, [1, 2], true),
  },
  {
    kernel: "Prod",
    name: "over axis 1",
    inputs: on([2, 3, 2], (r, s) => uniform(r, s, 0.5, 1.5)),
    f: (x) => tf.prod(x, 1),
  },
  {
    kernel: "Prod",
    name: "over axes [0, 2] with keepDims and negative values",
    inputs: on([2, 3, 2]),
    f: (x) => tf.prod(x, [0, 2], true),
  },
  {
    kernel: "Prod",
    name: "over everything",
    inputs: on([2, 3], (r, s) => uniform(r, s, 0.5, 1.5)),
    f: (x) => tf.prod(x),
  },
  {
    kernel: "Prod",
    name: "with an exact zero in the row (gradient = product of the others)",
    inputs: () => [tf.tensor2d([[0, 1.5, -2], [0.5, 0, 0]])],
    f: (x) => tf.prod(x, 1),
  },
  { kernel: "Cumsum", name: "along axis 0", inputs: on([3, 2]), f: (x) => tf.cumsum(x, 0) },
  { kernel: "Cumsum", name: "along axis 1, exclusive", inputs: on([2, 4]), f: (x) => tf.cumsum(x, 1, true) },
  // tf.cumsum rejects negative axes in tfjs 4.22 (it builds shape [,2]), so no axis -1 case.
  {
    kernel: "Cumsum",
    name: "along axis 1, reversed",
    inputs: on([2, 4]),
    f: (x) => tf.cumsum(x, 1, false, true),
  },
  {
    kernel: "Cumsum",
    name: "along axis 1 of [2, 3, 2], exclusive and reversed",
    inputs: on([2, 3, 2]),
    f: (x) => tf.cumsum(x, 1, true, true),
  },
];

const mm = (name: string, sa: number[], sb: number[], ta = false, tb = false): GradCase => ({
  kernel: "BatchMatMul",
  name,
  inputs: (r) => [normal(r, sa), normal(r, sb)],
  f: (a, b) => tf.matMul(a, b, ta, tb),
});

export const MATMUL_CASES: readonly GradCase[] = [
  mm("[2, 3] @ [3, 4]", [2, 3], [3, 4]),
  mm("transposeA: [3, 2]^T @ [3, 4]", [3, 2], [3, 4], true),
  mm("transposeB: [2, 3] @ [4, 3]^T", [2, 3], [4, 3], false, true),
  mm("both transposed: [3, 2]^T @ [4, 3]^T", [3, 2], [4, 3], true, true),
  mm("batched [2, 2, 3] @ [2, 3, 4]", [2, 2, 3], [2, 3, 4]),
  mm("b [3, 4] broadcast over batch of a [2, 2, 3]", [2, 2, 3], [3, 4]),
  mm("a [2, 3] broadcast over batch of b [2, 3, 4], transposeB", [2, 3], [2, 4, 3], false, true),
  mm("b [1, 3, 4] broadcast over a [2, 2, 3], transposeA", [2, 3, 2], [1, 3, 4], true),
  mm("rank 4 [2, 2, 2, 3] @ [2, 3, 2], both transposed", [2, 2, 3, 2], [2, 2, 3], true, true),
];

export const SOFTMAX_CASES: readonly GradCase[] = [
  { kernel: "Softmax", name: "over the last axis of [2, 4]", inputs: on([2, 4]), f: (x) => tf.softmax(x) },
  {
    kernel: "Softmax",
    name: "over the last axis of [2, 2, 3]",
    inputs: on([2, 2, 3]),
    f: (x) => tf.softmax(x, -1),
  },
  {
    kernel: "Softmax",
    name: "under log (cross-entropy)",
    inputs: on([3, 4]),
    f: (x) => tf.log(tf.softmax(x)),
  },
];

export const SHAPE_CASES: readonly GradCase[] = [
  {
    kernel: "Reshape",
    name: "[2, 3] to [3, 2]",
    inputs: on([2, 3]),
    f: (x) => tf.mul(tf.reshape(x, [3, 2]), tf.reshape(x, [3, 2])),
  },
  { kernel: "Reshape", name: "squeeze of [2, 1, 3]", inputs: on([2, 1, 3]), f: (x) => tf.squeeze(x, [1]) },
  {
    kernel: "ExpandDims",
    name: "at axis 1",
    inputs: on([2, 3]),
    f: (x) => tf.mul(tf.expandDims(x, 1), tf.expandDims(x, 0)),
  },
  { kernel: "ExpandDims", name: "at axis -1", inputs: on([2, 3]), f: (x) => tf.expandDims(x, -1) },
  {
    kernel: "Transpose",
    name: "[2, 3, 4] by [2, 0, 1]",
    inputs: on([2, 3, 4]),
    f: (x) => tf.transpose(x, [2, 0, 1]),
  },
  { kernel: "Transpose", name: "matrix transpose", inputs: on([2, 3]), f: (x) => tf.transpose(x) },
  ...[0, 1, 2, -1].map((axis): GradCase => ({
    kernel: "Concat",
    name: `on axis ${axis} with unequal sizes`,
    inputs: (
      r,
    ) => [normal(r, [2, 3, 2]), normal(r, axis === 0 ? [1, 3, 2] : axis === 1 ? [2, 1, 2] : [2, 3, 3])],
    f: (a, b) => tf.concat([a, b, a], axis),
  })),
  {
    kernel: "Pack",
    name: "stack on axis 0",
    inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 3])],
    f: (a, b) => tf.stack([a, b, a]),
  },
  {
    kernel: "Pack",
    name: "stack on axis -1",
    inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 3])],
    f: (a, b) => tf.stack([a, b], -1),
  },
  {
    kernel: "Unpack",
    name: "unstack axis 1, parts reweighted",
    inputs: on([2, 3]),
    f: (x) => tf.addN(tf.unstack(x, 1).map((t, i) => tf.mul(t, i + 1))),
  },
  {
    kernel: "Unpack",
    name: "unstack axis 0, one part unused",
    inputs: on([3, 2]),
    f: (x) => tf.unstack(x)[1],
  },
  { kernel: "Unpack", name: "unstack of a single slice", inputs: on([1, 3]), f: (x) => tf.unstack(x)[0] },
  {
    kernel: "SplitV",
    name: "split axis 1 into [1, 3]",
    inputs: on([2, 4]),
    f: (x) => {
      const [p, q] = tf.split(x, [1, 3], 1);
      return tf.mul(p, q);
    },
  },
  {
    kernel: "SplitV",
    name: "split axis -1 in two, second unused",
    inputs: on([2, 4]),
    f: (x) => tf.split(x, 2, -1)[0],
  },
  { kernel: "Tile", name: "[2, 3] tiled [2, 1]", inputs: on([2, 3]), f: (x) => tf.tile(x, [2, 1]) },
  {
    kernel: "Tile",
    name: "[2, 1, 3] tiled [1, 3, 2]",
    inputs: on([2, 1, 3]),
    f: (x) => tf.tile(x, [1, 3, 2]),
  },
  {
    kernel: "Tile",
    name: "via broadcastTo [3] -> [2, 3]",
    inputs: on([3]),
    f: (x) => tf.broadcastTo(x, [2, 3]),
  },
  { kernel: "Reverse", name: "along axes [0, 2]", inputs: on([2, 3, 2]), f: (x) => tf.reverse(x, [0, 2]) },
];

export const SLICING_CASES: readonly GradCase[] = [
  {
    kernel: "Slice",
    name: "[1, 1] size [1, 2] of [3, 4]",
    inputs: on([3, 4]),
    f: (x) => tf.slice(x, [1, 1], [1, 2]),
  },
  {
    kernel: "Slice",
    name: "size -1 to the end",
    inputs: on([3, 4]),
    f: (x) => tf.slice(x, [0, 2], [-1, -1]),
  },
  {
    kernel: "PadV2",
    name: "pads [[1, 0], [2, 1]] with value 3",
    inputs: on([2, 3]),
    f: (x) => tf.square(tf.pad(x, [[1, 0], [2, 1]], 3)),
  },
  {
    kernel: "StridedSlice",
    name: "x[1:5:2] on [6]",
    inputs: on([6]),
    f: (x) => tf.stridedSlice(x, [1], [5], [2]),
  },
  {
    kernel: "StridedSlice",
    name: "x[::-1] on [5]",
    inputs: on([5]),
    f: (x) => tf.stridedSlice(x, [0], [0], [-1], 1, 1),
  },
  {
    kernel: "StridedSlice",
    name: "x[4:0:-3, 1:] on [6, 3]",
    inputs: on([6, 3]),
    f: (x) => tf.stridedSlice(x, [4, 1], [0, 3], [-3, 1]),
  },
  {
    kernel: "StridedSlice",
    name: "x[:, 1] (shrink axis) on [3, 4]",
    inputs: on([3, 4]),
    f: (x) => tf.stridedSlice(x, [0, 1], [3, 2], [1, 1], 0, 0, 0, 0, 2),
  },
  {
    kernel: "StridedSlice",
    name: "x[::2, newaxis, -1:0:-2] on [5, 4]",
    inputs: on([5, 4]),
    f: (x) => tf.stridedSlice(x, [0, 0, -1], [5, 0, 0], [2, 1, -2], 0, 0, 0, 2, 0),
  },
  {
    kernel: "StridedSlice",
    name: "x[..., 1::2] (ellipsis) on [2, 2, 5]",
    inputs: on([2, 2, 5]),
    f: (x) => tf.stridedSlice(x, [0, 1], [0, 5], [1, 2], 0, 0, 1),
  },
];

const indices = (values: number[], shape?: number[]) => tf.tensor(values, shape ?? [values.length], "int32");

export const SELECTION_CASES: readonly GradCase[] = [
  {
    kernel: "GatherV2",
    name: "rows of [4, 3] with a repeated index",
    inputs: on([4, 3]),
    f: (x) => tf.gather(x, indices([2, 0, 2])),
  },
  {
    kernel: "GatherV2",
    name: "along axis 1 with [2, 2] indices",
    inputs: on([2, 4, 3]),
    f: (x) => tf.gather(x, indices([3, 1, 1, 0], [2, 2]), 1),
  },
  {
    kernel: "GatherV2",
    name: "along axis -1",
    inputs: on([2, 4]),
    f: (x) => tf.gather(x, indices([0, 3, 3]), -1),
  },
  {
    // tfjs-backend-wasm 4.22's GatherV2 reads the wrong indices for batch rows > 0 when batchDims > 0
    // (forward bug: gather([[0..3],[4..7]], [[1,1,3],[0,2,0]], 1, 1) gives [[1,1,3],[7,4,6]]).
    backends: ["cpu"],
    kernel: "GatherV2",
    name: "batchDims 1 along axis 1 (per-row indices)",
    inputs: on([2, 4, 2]),
    f: (x) => tf.gather(x, indices([1, 1, 3, 0, 2, 0], [2, 3]), 1, 1),
  },
  {
    kernel: "GatherNd",
    name: "points and rows of [3, 4]",
    inputs: on([3, 4]),
    f: (x) => tf.gatherND(x, indices([2, 1, 0, 3, 2, 1], [3, 2])),
  },
  {
    kernel: "ScatterNd",
    name: "updates into [4, 2] with a repeated index",
    inputs: on([3, 2]),
    f: (u) => tf.square(tf.scatterND(indices([1, 3, 1], [3, 1]), u, [4, 2])),
  },
  {
    kernel: "Select",
    name: "tf.where with a [3] mask broadcast against [2, 3]",
    inputs: (r) => [normal(r, [2, 3]), normal(r, [2, 3])],
    f: (a, b) => tf.where(tf.tensor1d([true, false, true], "bool"), a, b),
  },
  {
    kernel: "Select",
    name: "tf.where with e broadcast from [3]",
    inputs: (r) => distinctSplit(r, [[2, 3], [3]]),
    f: (a, b) => tf.where(tf.greater(a, b), tf.square(a), b),
  },
];
