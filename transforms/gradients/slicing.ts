/**
 * Gradients of Slice, StridedSlice and PadV2. A slice's adjoint puts dy back where it was taken from
 * and zeros elsewhere; padding's adjoint is the slice of dy where x sits.
 */
import * as tf from "@tensorflow/tfjs-core";
import { one } from "./_broadcast.ts";

/** Pads g along `axis` with `before` and `after` zeros. */
function padAxis(g: tf.Tensor, axis: number, before: number, after: number): tf.Tensor {
  if (before === 0 && after === 0) return g;
  return tf.pad(g, g.shape.map((_, i): [number, number] => (i === axis ? [before, after] : [0, 0])));
}

/** How many indices begin, begin + stride, ... lie before end (TF's strided-slice count). */
function stridedCount(begin: number, end: number, stride: number): number {
  const span = end - begin;
  if (span === 0 || (span < 0) !== (stride < 0)) return 0;
  return Math.trunc(span / stride) + (span % stride !== 0 ? 1 : 0);
}

/**
 * Places the n slices of g along `axis` at indices begin + k * stride of an axis of length dim,
 * zeros elsewhere: reverse for a negative stride, interleave stride - 1 zeros, pad to dim.
 */
function unstride(g: tf.Tensor, axis: number, dim: number, begin: number, stride: number): tf.Tensor {
  const n = g.shape[axis];
  if (n === 0) return tf.zeros(g.shape.map((d, i) => (i === axis ? dim : d)));
  let placed = stride < 0 ? tf.reverse(g, axis) : g;
  const step = Math.abs(stride);
  const lowest = stride < 0 ? begin + (n - 1) * stride : begin;
  if (step > 1) {
    const pre = placed.shape.slice(0, axis), post = placed.shape.slice(axis + 1);
    const spaced = tf.pad(
      tf.reshape(placed, [...pre, n, 1, ...post]),
      [
        ...pre.map((): [number, number] => [0, 0]),
        [0, 0],
        [0, step - 1],
        ...post.map((): [number, number] => [0, 0]),
      ],
    ); // [..., n, step, ...]
    const span = (n - 1) * step + 1;
    const flat = tf.reshape(spaced, [...pre, n * step, ...post]);
    placed = tf.slice(flat, flat.shape.map(() => 0), flat.shape.map((d, i) => (i === axis ? span : d)));
  }
  return padAxis(placed, axis, lowest, dim - lowest - placed.shape[axis]);
}

export const SLICING_GRADIENTS: readonly tf.GradConfig[] = [
  {
    kernelName: "Slice",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const [begin, size] = tf.slice_util.parseSliceParams(
          x,
          attrs.begin as number[],
          attrs.size as number[],
        );
        return tf.pad(one(dy), x.shape.map((d, i): [number, number] => [begin[i], d - begin[i] - size[i]]));
      },
    }),
  },
  {
    // sliceInfo resolves masks, ellipsis, new and shrunk axes into one begin/end/stride per axis of
    // x; dy, reshaped to the per-axis counts, is then scattered back one axis at a time.
    kernelName: "StridedSlice",
    inputsToSave: ["x"],
    gradFunc: (dy, [x], attrs) => ({
      x: () => {
        const info = tf.slice_util.sliceInfo(
          x.shape,
          attrs.begin as number[],
          attrs.end as number[],
          attrs.strides as number[],
          attrs.beginMask as number,
          attrs.endMask as number,
          attrs.ellipsisMask as number,
          attrs.newAxisMask as number,
          attrs.shrinkAxisMask as number,
        );
        const counts = x.shape.map((_, i) => stridedCount(info.begin[i], info.end[i], info.strides[i]));
        let g = tf.reshape(one(dy), counts);
        x.shape.forEach((dim, axis) => {
          g = unstride(g, axis, dim, info.begin[axis], info.strides[axis]);
        });
        return g;
      },
    }),
  },
  {
    kernelName: "PadV2",
    gradFunc: (dy, _saved, attrs) => {
      const g = one(dy);
      const paddings = attrs.paddings as [number, number][];
      const begin = paddings.map(([before]) => before);
      const size = g.shape.map((d, i) => d - paddings[i][0] - paddings[i][1]);
      return { x: () => tf.slice(g, begin, size) };
    },
  },
];
