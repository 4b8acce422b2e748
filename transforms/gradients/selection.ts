/**
 * Gradients of kernels that pick elements: Select (tf.where), GatherV2 (tf.gather), GatherNd and
 * ScatterNd. Gathers scatter dy back with ScatterNd, which sums repeated indices and exists on the
 * cpu and wasm backends (UnsortedSegmentSum, tfjs's choice, has no wasm kernel).
 */
import * as tf from "@tensorflow/tfjs-core";
import { normalizeAxis, one, zeroGrad } from "./_broadcast.ts";

const product = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/**
 * x: [batch..., outer..., dim, inner...], indices: [batch..., idx...], and
 * dy: [batch..., outer..., idx..., inner...]. Returns dx: the sum of dy over every place each
 * element of x was gathered to.
 */
function ungather(
  dy: tf.Tensor,
  x: tf.Tensor,
  indices: tf.Tensor,
  axis: number,
  batchDims: number,
): tf.Tensor {
  const batch = x.shape.slice(0, batchDims), outer = x.shape.slice(batchDims, axis);
  const dim = x.shape[axis], inner = x.shape.slice(axis + 1), idx = indices.shape.slice(batchDims);
  const nb = batch.length, no = outer.length, ni = idx.length;
  // dy -> [batch..., idx..., outer..., inner...] -> [B * N, outer..., inner...]
  const toIdxFirst = [
    ...range(0, nb),
    ...range(nb + no, nb + no + ni),
    ...range(nb, nb + no),
    ...range(nb + no + ni, dy.rank),
  ];
  const B = product(batch), N = product(idx);
  const updates = tf.reshape(tf.transpose(dy, toIdxFirst), [B * N, ...outer, ...inner]);
  const flatIndices = tf.reshape(tf.cast(indices, "int32"), [B * N]);
  // Each update row goes to (its batch row, its index) of [B, dim, outer..., inner...]; without
  // batch dims (an embedding lookup) the index alone addresses [dim, outer..., inner...].
  const where = nb === 0 ? tf.reshape(flatIndices, [N, 1]) : tf.stack([
    tf.tensor1d(Int32Array.from({ length: B * N }, (_, m) => Math.floor(m / N)), "int32"),
    flatIndices,
  ], 1); // [B * N, 1 or 2]
  const scattered = tf.scatterND(
    where,
    updates,
    nb === 0 ? [dim, ...outer, ...inner] : [B, dim, ...outer, ...inner],
  );
  // [batch..., dim, outer..., inner...] -> [batch..., outer..., dim, inner...]
  const unflat = tf.reshape(scattered, [...batch, dim, ...outer, ...inner]);
  const back = [...range(0, nb), ...range(nb + 1, nb + 1 + no), nb, ...range(nb + 1 + no, x.rank)];
  return tf.transpose(unflat, back);
}

const float = (t: tf.Tensor) => (t.dtype === "float32" ? t : tf.cast(t, "float32"));

export const SELECTION_GRADIENTS: readonly tf.GradConfig[] = [
  {
    // tf.where broadcasts condition, t and e to one shape first; a rank-1 condition against
    // higher-rank t (TF's row-select form) picks whole rows.
    kernelName: "Select",
    inputsToSave: ["condition"],
    gradFunc: (dy, [condition]) => {
      const g = one(dy);
      const rows = condition.rank === 1 && g.rank > 1;
      const pick = rows
        ? tf.reshape(condition, [condition.shape[0], ...g.shape.slice(1).map(() => 1)])
        : condition;
      const zero = tf.zerosLike(g);
      return {
        condition: () => zeroGrad(condition.shape),
        t: () => tf.where(pick, g, zero),
        e: () => tf.where(pick, zero, g),
      };
    },
  },
  {
    kernelName: "GatherV2",
    inputsToSave: ["x", "indices"],
    gradFunc: (dy, [x, indices], attrs) => {
      const axis = normalizeAxis(attrs.axis as number, x.rank);
      const batchDims = normalizeAxis((attrs.batchDims as number | undefined) ?? 0, indices.rank);
      return {
        x: () => ungather(one(dy), float(x), indices, axis, batchDims),
        indices: () => zeroGrad(indices.shape),
      };
    },
  },
  {
    kernelName: "GatherNd",
    inputsToSave: ["params", "indices"],
    gradFunc: (dy, [params, indices]) => ({
      params: () => tf.scatterND(tf.cast(indices, "int32"), one(dy), params.shape),
      indices: () => zeroGrad(indices.shape),
    }),
  },
  {
    kernelName: "ScatterNd",
    inputsToSave: ["indices"],
    gradFunc: (dy, [indices]) => ({
      updates: () => tf.gatherND(one(dy), indices),
      indices: () => zeroGrad(indices.shape),
    }),
  },
];
