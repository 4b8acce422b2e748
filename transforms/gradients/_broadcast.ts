/**
 * Shape plumbing shared by the gradient groups: undoing numpy-style broadcasting, restoring reduced
 * axes, and reading attrs that tfjs passes untyped. Private to transforms/gradients/.
 */
import * as tf from "@tensorflow/tfjs-core";

/** What a gradient config hands back: one lazy gradient per input name. */
export type InputGrads = ReturnType<tf.GradFunc>;

/** Sums g over the axes along which `shape` was broadcast up to g.shape, then gives it `shape`. */
export function sumToShape(g: tf.Tensor, shape: readonly number[]): tf.Tensor {
  const axes = tf.backend_util.getReductionAxes([...shape], g.shape);
  return tf.reshape(axes.length > 0 ? tf.sum(g, axes) : g, [...shape]);
}

/** xShape with every reduced axis kept as size 1 (the shape a keepDims reduction returns). */
export function keepDimsShape(xShape: readonly number[], axes: readonly number[]): number[] {
  return xShape.map((d, i) => (axes.includes(i) ? 1 : d));
}

/** Spreads a reduction's upstream gradient (reduced or keepDims shape) back over xShape. */
export function unreduce(dy: tf.Tensor, xShape: readonly number[], axes: readonly number[]): tf.Tensor {
  // tf.broadcastTo leaves a size-1 axis at 1 when asked for size 0: an empty x gets empty zeros.
  if (xShape.includes(0)) return tf.zeros([...xShape]);
  // A broadcast add onto zeros, not tf.broadcastTo: that runs Tile, which tfjs-wasm does element by
  // element (20-80x slower than the add at layer sizes).
  return tf.add(tf.reshape(dy, keepDimsShape(xShape, axes)), tf.zeros([...xShape], dy.dtype));
}

/** The axes a reduction attr names, normalised to [0, rank) (null means all of them). */
export function reductionAxes(axis: unknown, xShape: readonly number[]): number[] {
  return tf.util.parseAxisParam(axis as number | number[], [...xShape]);
}

/** A single axis attr normalised to [0, rank). */
export function normalizeAxis(axis: number, rank: number): number {
  return axis < 0 ? axis + rank : axis;
}

/** The gradient of an input that does not affect the output smoothly: float32 zeros of its shape. */
export function zeroGrad(shape: readonly number[]): tf.Tensor {
  return tf.zeros([...shape], "float32");
}

/**
 * Multi-output kernels (Unpack, SplitV) get an array of dys, except when they have one output:
 * then the engine passes the bare tensor.
 */
export function asList(dy: tf.Tensor | tf.Tensor[]): tf.Tensor[] {
  return Array.isArray(dy) ? dy : [dy];
}

/** Single-output kernels always get one dy. */
export function one(dy: tf.Tensor | tf.Tensor[]): tf.Tensor {
  if (Array.isArray(dy)) throw new Error(`Cannot take the gradient: expected one dy, got ${dy.length}`);
  return dy;
}
