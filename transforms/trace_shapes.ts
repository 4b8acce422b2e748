/**
 * Output shapes and dtypes of tfjs kernels, computed from input shapes and attrs alone: what the
 * tracing backend runs instead of arithmetic. Each rule mirrors the tfjs-cpu kernel's shape logic
 * (mostly through the same tfjs `backend_util` helpers), so a traced graph has the shapes an eager
 * run would have. A kernel with no rule here cannot be traced.
 */
import * as tf from "@tensorflow/tfjs-core";

export type Spec = { readonly shape: readonly number[]; readonly dtype: tf.DataType };
type Input = { readonly shape: number[]; readonly dtype: tf.DataType };
type Rule = (inputs: readonly Input[], attrs: Record<string, any>) => Spec | Spec[];

const bu = tf.backend_util;
const same: Rule = ([x]) => ({ shape: x.shape, dtype: x.dtype });
const toBool: Rule = ([x]) => ({ shape: x.shape, dtype: "bool" });
const broadcast: Rule = ([a, b]) => ({
  shape: bu.assertAndGetBroadcastShape(a.shape, b.shape),
  dtype: a.dtype,
});
const compare: Rule = ([a, b]) => ({ shape: bu.assertAndGetBroadcastShape(a.shape, b.shape), dtype: "bool" });

function reduce(axisAttr: string, dtype?: tf.DataType): Rule {
  return ([x], attrs) => {
    const axes = tf.util.parseAxisParam(attrs[axisAttr], x.shape);
    const [out] = bu.computeOutAndReduceShapes(x.shape, axes);
    return { shape: attrs.keepDims ? bu.expandShapeToKeepDim(out, axes) : out, dtype: dtype ?? x.dtype };
  };
}

function argReduce(): Rule {
  return ([x], attrs) => {
    const [axis] = tf.util.parseAxisParam(attrs.axis, x.shape);
    return { shape: x.shape.filter((_, i) => i !== axis), dtype: "int32" };
  };
}

function batchMatMul([a, b]: readonly Input[], attrs: Record<string, any>): Spec {
  const ra = a.shape.length, rb = b.shape.length;
  if (ra < 2 || rb < 2) {
    throw new Error(`BatchMatMul needs rank >= 2 inputs, got [${a.shape}] and [${b.shape}]`);
  }
  const [m, ka] = attrs.transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [kb, n] = attrs.transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  if (ka !== kb) throw new Error(`BatchMatMul inner dimensions differ: [${a.shape}] x [${b.shape}]`);
  const batch = bu.assertAndGetBroadcastShape(a.shape.slice(0, -2), b.shape.slice(0, -2));
  return { shape: [...batch, m, n], dtype: a.dtype };
}

/** Einsum with an explicit `->` (tfjs requires one): output dims take the inputs' sizes by letter. */
function einsum(inputs: readonly Input[], attrs: Record<string, any>): Spec {
  const [lhs, rhs] = String(attrs.equation).replace(/\s/g, "").split("->");
  const size = new Map<string, number>();
  lhs.split(",").forEach((term, i) => [...term].forEach((c, j) => size.set(c, inputs[i].shape[j])));
  return { shape: [...rhs].map((c) => size.get(c)!), dtype: inputs[0].dtype };
}

export const SHAPE_RULES: Readonly<Record<string, Rule>> = {
  ...Object.fromEntries(
    [
      "Abs",
      "Acos",
      "Acosh",
      "Asin",
      "Asinh",
      "Atan",
      "Atanh",
      "Ceil",
      "ClipByValue",
      "Cos",
      "Cosh",
      "Elu",
      "Erf",
      "Exp",
      "Expm1",
      "Floor",
      "Identity",
      "LeakyRelu",
      "Log",
      "Log1p",
      "Neg",
      "OnesLike",
      "Reciprocal",
      "Relu",
      "Relu6",
      "Round",
      "Rsqrt",
      "Selu",
      "Sigmoid",
      "Sign",
      "Sin",
      "Sinh",
      "Softmax",
      "LogSoftmax",
      "Softplus",
      "Sqrt",
      "Square",
      "Step",
      "Tan",
      "Tanh",
      "ZerosLike",
      "Cumsum",
      "Cumprod",
      "Reverse",
    ].map((k) => [k, same]),
  ),
  ...Object.fromEntries(["IsNan", "IsInf", "IsFinite", "LogicalNot"].map((k) => [k, toBool])),
  ...Object.fromEntries(
    [
      "Add",
      "Sub",
      "Multiply",
      "RealDiv",
      "FloorDiv",
      "Maximum",
      "Minimum",
      "Pow",
      "SquaredDifference",
      "Mod",
      "Atan2",
      "Prelu",
    ]
      .map((k) => [k, broadcast]),
  ),
  ...Object.fromEntries(
    ["Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd", "LogicalOr"].map((
      k,
    ) => [k, compare]),
  ),
  Sum: reduce("axis"),
  Mean: reduce("axis"),
  Prod: reduce("axis"),
  Min: reduce("axis"),
  Max: reduce("reductionIndices"),
  All: reduce("axis", "bool"),
  Any: reduce("axis", "bool"),
  ArgMax: argReduce(),
  ArgMin: argReduce(),
  AddN: (xs) => ({ shape: xs[0].shape, dtype: xs[0].dtype }),
  BatchMatMul: batchMatMul,
  Einsum: einsum,
  Cast: ([x], a) => ({ shape: x.shape, dtype: a.dtype }),
  Reshape: ([x], a) => ({
    shape: tf.util.inferFromImplicitShape(a.shape, tf.util.sizeFromShape(x.shape)),
    dtype: x.dtype,
  }),
  Transpose: ([x], a) => ({ shape: (a.perm as number[]).map((p) => x.shape[p]), dtype: x.dtype }),
  BroadcastTo: ([x], a) => ({ shape: a.shape, dtype: x.dtype }),
  Tile: ([x], a) => ({ shape: x.shape.map((d, i) => d * a.reps[i]), dtype: x.dtype }),
  PadV2: ([x], a) => ({
    shape: x.shape.map((d, i) => d + a.paddings[i][0] + a.paddings[i][1]),
    dtype: x.dtype,
  }),
  MirrorPad: ([x], a) => ({
    shape: x.shape.map((d, i) => d + a.paddings[i][0] + a.paddings[i][1]),
    dtype: x.dtype,
  }),
  Concat: (xs, a) => {
    const axis = tf.util.parseAxisParam(a.axis, xs[0].shape)[0];
    return { shape: bu.computeOutShape(xs.map((x) => x.shape), axis), dtype: xs[0].dtype };
  },
  Pack: (xs, a) => {
    const shape = [...xs[0].shape];
    const axis = a.axis < 0 ? a.axis + shape.length + 1 : a.axis;
    shape.splice(axis, 0, xs.length);
    return { shape, dtype: xs[0].dtype };
  },
  Unpack: ([x], a) => {
    const axis = a.axis < 0 ? a.axis + x.shape.length : a.axis;
    const shape = x.shape.filter((_, i) => i !== axis);
    return Array.from({ length: x.shape[axis] }, () => ({ shape, dtype: x.dtype }));
  },
  SplitV: ([x], a) => {
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    return bu.prepareSplitSize(x as tf.TensorInfo, a.numOrSizeSplits, axis).map((s) => ({
      shape: x.shape.map((d, i) => (i === axis ? s : d)),
      dtype: x.dtype,
    }));
  },
  Slice: ([x], a) => {
    const [, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo, a.begin, a.size);
    return { shape: size, dtype: x.dtype };
  },
  StridedSlice: ([x], a) => {
    const info = tf.slice_util.sliceInfo(
      x.shape,
      a.begin,
      a.end,
      a.strides,
      a.beginMask,
      a.endMask,
      a.ellipsisMask,
      a.newAxisMask,
      a.shrinkAxisMask,
    );
    return { shape: info.finalShape, dtype: x.dtype };
  },
  GatherV2: ([x, indices], a) => {
    const axis = tf.util.parseAxisParam(a.axis, x.shape)[0];
    const info = bu.segment_util.collectGatherOpShapeInfo(
      x as tf.TensorInfo,
      indices as tf.TensorInfo,
      axis,
      a.batchDims,
    );
    return { shape: info.outputShape, dtype: x.dtype };
  },
  OneHot: ([i], a) => ({ shape: [...i.shape, a.depth], dtype: a.dtype }),
  Fill: (_, a) => ({ shape: a.shape, dtype: a.dtype }),
  Range: (_, a) => ({ shape: [Math.max(0, Math.ceil((a.stop - a.start) / a.step))], dtype: a.dtype }),
  Select: ([c, t, e]) => ({
    shape: bu.assertAndGetBroadcastShape(c.shape, bu.assertAndGetBroadcastShape(t.shape, e.shape)),
    dtype: t.dtype,
  }),
  TopK: ([x], a) => {
    const shape = [...x.shape.slice(0, -1), a.k];
    return [{ shape, dtype: x.dtype }, { shape, dtype: "int32" }];
  },
  Conv2D: ([x, f], a) => {
    const info = bu.computeConv2DInfo(
      x.shape as [number, number, number, number],
      f.shape as [number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
      a.dimRoundingMode,
      false,
      bu.convertConv2DDataFormat(a.dataFormat),
    );
    return { shape: info.outShape, dtype: x.dtype };
  },
  Conv3D: ([x, f], a) => {
    const info = bu.computeConv3DInfo(
      x.shape as [number, number, number, number, number],
      f.shape as [number, number, number, number, number],
      a.strides,
      a.dilations,
      a.pad,
    );
    return { shape: info.outShape, dtype: x.dtype };
  },
  AvgPool: ([x], a) => ({
    shape: bu.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    ).outShape,
    dtype: x.dtype,
  }),
  MaxPool: ([x], a) => ({
    shape: bu.computePool2DInfo(
      x.shape as [number, number, number, number],
      a.filterSize,
      a.strides,
      1,
      a.pad,
      a.dimRoundingMode,
    ).outShape,
    dtype: x.dtype,
  }),
  // Threefry and StopGradient (prng_kernels.ts): what a graph with a key input draws from it.
  ThreefryHash: ([, counts]) => ({ shape: counts.shape, dtype: "int32" }),
  ThreefryBits: (_, a) => ({ shape: a.shape, dtype: "int32" }),
  BitsToUnitFloat: ([bits]) => ({ shape: bits.shape, dtype: "float32" }),
  StopGradient: same,
};

/** Kernels whose output shape depends on the data: they cannot be in a static-shape graph. */
export const DYNAMIC_KERNELS: ReadonlySet<string> = new Set([
  "Where",
  "Unique",
  "NonMaxSuppressionV3",
  "NonMaxSuppressionV4",
  "NonMaxSuppressionV5",
  "Bincount",
  "DenseBincount",
  "SparseReshape",
  "SparseFillEmptyRows",
  "SparseSegmentMean",
  "SparseSegmentSum",
  "StringSplit",
  "RaggedGather",
  "RaggedTensorToTensor",
  "RaggedRange",
]);

/** Kernels that draw random numbers inside the graph: XLA ignores their seeds, so we refuse them. */
export const STATEFUL_KERNELS: ReadonlySet<string> = new Set(["Multinomial"]);
