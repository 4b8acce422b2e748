/**
 * Gradients of kernels that only move elements around: reshapes, transposes, joins and splits,
 * tiling and broadcasting, reversal. Each is the adjoint data movement applied to dy.
 */
import * as tf from "@tensorflow/tfjs-core";
import { asList, normalizeAxis, one, sumToShape } from "./_broadcast.ts";

/** Slice number `index` (size 1) out of dy along `axis` and drop that axis. */
function sliceOut(dy: tf.Tensor, axis: number, index: number): tf.Tensor {
  const begin = dy.shape.map((_, i) => (i === axis ? index : 0));
  const size = dy.shape.map((d, i) => (i === axis ? 1 : d));
  return tf.reshape(tf.slice(dy, begin, size), dy.shape.filter((_, i) => i !== axis));
}

/** Tile copies x reps[i] times along axis i: the gradient sums the copies, one axis at a time. */
function untile(dy: tf.Tensor, reps: readonly number[]): tf.Tensor {
  let g = dy;
  reps.forEach((r, axis) => {
    if (r === 1) return;
    const before = g.shape.slice(0, axis).reduce((n, d) => n * d, 1);
    const dim = g.shape[axis] / r;
    const after = g.shape.slice(axis + 1);
    // Copies are laid out outermost along the axis: [before, r, dim * after] keeps rank <= 3.
    const summed = tf.sum(tf.reshape(g, [before, r, dim * after.reduce((n, d) => n * d, 1)]), 1);
    g = tf.reshape(summed, [...g.shape.slice(0, axis), dim, ...after]);
  });
  return g === dy ? tf.clone(dy) : g;
}

export const SHAPE_GRADIENTS: readonly tf.GradConfig[] = [
  {
    kernelName: "Reshape",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => tf.reshape(one(dy), x.shape) }),
  },
  {
    kernelName: "ExpandDims",
    inputsToSave: ["input"],
    gradFunc: (dy, [input]) => ({ input: () => tf.reshape(one(dy), input.shape) }),
  },
  {
    kernelName: "Transpose",
    gradFunc: (dy, _saved, attrs) => {
      const perm = attrs.perm as number[];
      const inverse = perm.map((_, i) => perm.indexOf(i));
      return { x: () => tf.transpose(one(dy), inverse) };
    },
  },
  {
    kernelName: "Reverse",
    gradFunc: (dy, _saved, attrs) => ({ x: () => tf.reverse(one(dy), attrs.dims as number | number[]) }),
  },
  {
    // Inputs are saved only for their sizes along the axis (saving is a reference, not a copy).
    kernelName: "Concat",
    saveAllInputs: true,
    gradFunc: (dy, saved, attrs) => {
      const g = one(dy);
      const axis = normalizeAxis(attrs.axis as number, g.rank);
      let offset = 0;
      const grads: Record<string, () => tf.Tensor> = {};
      saved.forEach((x, i) => {
        const begin = g.shape.map((_, k) => (k === axis ? offset : 0));
        grads[String(i)] = () => tf.slice(g, begin, x.shape);
        offset += x.shape[axis];
      });
      return grads;
    },
  },
  {
    // Pack stacks n inputs along a new axis: input i's gradient is slice i of dy along it.
    kernelName: "Pack",
    gradFunc: (dy, _saved, attrs) => {
      const g = one(dy);
      const axis = normalizeAxis(attrs.axis as number, g.rank);
      const grads: Record<string, () => tf.Tensor> = {};
      for (let i = 0; i < g.shape[axis]; i++) grads[String(i)] = () => sliceOut(g, axis, i);
      return grads;
    },
  },
  {
    kernelName: "Unpack",
    gradFunc: (dy, _saved, attrs) => {
      const parts = asList(dy);
      const axis = normalizeAxis(attrs.axis as number, parts[0].rank + 1);
      return { value: () => tf.stack(parts, axis) };
    },
  },
  {
    kernelName: "SplitV",
    gradFunc: (dy, _saved, attrs) => {
      const parts = asList(dy);
      const axis = normalizeAxis(attrs.axis as number, parts[0].rank);
      return { x: () => (parts.length === 1 ? tf.clone(parts[0]) : tf.concat(parts, axis)) };
    },
  },
  {
    kernelName: "Tile",
    gradFunc: (dy, _saved, attrs) => ({ x: () => untile(one(dy), attrs.reps as number[]) }),
  },
  {
    // tf.broadcastTo runs Tile; a BroadcastTo kernel (from a graph or a tracer) is a reduction back.
    kernelName: "BroadcastTo",
    inputsToSave: ["x"],
    gradFunc: (dy, [x]) => ({ x: () => sumToShape(one(dy), x.shape) }),
  },
];
