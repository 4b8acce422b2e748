/**
 * Dense (linear) layer with a multi-dimensional output, as Flax's DenseGeneral: w: [in, ...outDims],
 * b: [...outDims]. Attention uses outDims [H, Dh] for its q/k/v heads, and contracts two input
 * dimensions ([H, Dh] -> D) for its output projection (`inDim: [H, Dh]`, `apply(..., {inRank: 2})`).
 *
 * Init: xavier-uniform w over fan-in = prod(inDims), fan-out = prod(outDims); zero b.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { xavierUniform, zeros } from "../../transforms/initializers.ts";
import { ConfigError, requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";

export type DenseConfig = {
  /** input width, or the input dimensions contracted together (e.g. [H, Dh]) */
  readonly inDim: number | readonly number[];
  readonly outDims: readonly number[];
  /** default true */
  readonly bias?: boolean;
};

/** w: [...inDims, ...outDims]; b: [...outDims] unless the layer has no bias. */
export type DenseParams = { readonly w: tf.Tensor; readonly b?: tf.Tensor };

const product = (dims: readonly number[]) => dims.reduce((a, b) => a * b, 1);

export function init(key: Key, c: DenseConfig): DenseParams {
  const inDims = typeof c.inDim === "number" ? [c.inDim] : [...c.inDim];
  if (inDims.length === 0 || c.outDims.length === 0) {
    throw new ConfigError({
      action: "init dense",
      reason: `inDim and outDims must name at least one dimension, got [${inDims}] -> [${c.outDims}]`,
    });
  }
  requirePositiveInts(
    "init dense",
    Object.fromEntries([...inDims, ...c.outDims].map((d, i) => [`dimension ${i}`, d])),
  );
  const k = keysFor(key, ["w"]);
  const w = xavierUniform(k.w, [...inDims, ...c.outDims], {
    fanIn: product(inDims),
    fanOut: product(c.outDims),
  });
  return c.bias === false ? { w } : { w, b: zeros(c.outDims) };
}

/**
 * y = x . w + b, contracting the last `inRank` dimensions of x (default 1) with the first `inRank`
 * of w: x [..., ...inDims] -> y [..., ...outDims].
 */
export function apply(p: DenseParams, x: tf.Tensor, opts: { readonly inRank?: number } = {}): tf.Tensor {
  const inRank = opts.inRank ?? 1;
  const inDims = p.w.shape.slice(0, inRank);
  const outDims = p.w.shape.slice(inRank);
  const dims = expectShape(x, ["...", ...inDims], "dense", "x");
  const lead = dims.slice(0, dims.length - inRank);
  return tf.tidy(() => {
    const x2 = tf.reshape(x, [product(lead), product(inDims)]); // [N, in]
    const w2 = tf.reshape(p.w, [product(inDims), product(outDims)]); // [in, out]
    let y = tf.matMul(x2, w2); // [N, out]
    if (p.b) y = tf.add(y, tf.reshape(p.b, [product(outDims)]));
    return tf.reshape(y, [...lead, ...outDims]); // [..., ...outDims]
  });
}
