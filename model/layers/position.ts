/**
 * Position embeddings: a learned table, the fixed 1D sinusoid, and TubeViT's fixed 3D sin-cos at
 * tube centres.
 *
 * Every sinusoid here uses the concatenated layout of Flax's `sinusoidal_init` and MAE/TubeViT's
 * `get_1d_sincos_pos_embed_from_grid`: for width d and position p,
 *   e[i] = sin(p * w_i), e[d/2 + i] = cos(p * w_i), w_i = 10000^(-i / (d/2)), i < d/2
 * (Vaswani et al. interleave sin and cos instead; the set of features is the same).
 *
 * Letters: T positions, D width, n tube centres.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Key } from "../../transforms/random.ts";
import { keysFor } from "../../transforms/random.ts";
import { normalInit } from "../../transforms/initializers.ts";
import { ConfigError, requirePositiveInts } from "../errors.ts";
import { expectShape } from "../shape.ts";

export type LearnedConfig = { readonly len: number; readonly dim: number };
/** table: [len, D] */
export type LearnedParams = { readonly table: tf.Tensor2D };

/** Learned table, normal(0.02) as scenic's ViT 'learned_1d' embedding. */
export function initLearned(key: Key, c: LearnedConfig): LearnedParams {
  requirePositiveInts("init learned position embedding", { len: c.len, dim: c.dim });
  const k = keysFor(key, ["table"]);
  return { table: normalInit(k.table, [c.len, c.dim], 0.02) as tf.Tensor2D };
}

/** x [B, T, D] + table[:T] (T <= len). */
export function applyLearned(p: LearnedParams, x: tf.Tensor): tf.Tensor3D {
  const [len, D] = p.table.shape;
  const [, T] = expectShape(x, ["B", "T", D], "learned position embedding", "x");
  if (T > len) {
    throw new ConfigError({
      action: "add learned position embedding",
      reason: `x has ${T} positions, the table only ${len}`,
    });
  }
  return tf.tidy(() => tf.add(x, tf.slice(p.table, [0, 0], [T, D])) as tf.Tensor3D);
}

/** Writes the 1D sin-cos of `positions` into columns [col, col + width) of a row-major [n, D] buffer. */
function writeSinCos(
  out: Float32Array,
  D: number,
  col: number,
  width: number,
  positions: ArrayLike<number>,
): void {
  const half = width / 2;
  for (let r = 0; r < positions.length; r++) {
    for (let i = 0; i < half; i++) {
      const angle = positions[r] * Math.pow(10000, -i / half);
      out[r * D + col + i] = Math.sin(angle);
      out[r * D + col + half + i] = Math.cos(angle);
    }
  }
}

/** Host-side values of `sinusoidal(len, dim)`, row-major [len, dim]. */
export function sinusoidalValues(len: number, dim: number): Float32Array {
  requirePositiveInts("build sinusoidal position embedding", { len, dim });
  if (dim % 2 !== 0) {
    throw new ConfigError({
      action: "build sinusoidal position embedding",
      reason: `dim must be even, got ${dim}`,
    });
  }
  const out = new Float32Array(len * dim);
  writeSinCos(out, dim, 0, dim, Array.from({ length: len }, (_, t) => t));
  return out;
}

/** Fixed 1D sinusoid for positions 0..len-1: [len, D] (no params). */
export function sinusoidal(len: number, dim: number): tf.Tensor2D {
  return tf.tensor2d(sinusoidalValues(len, dim), [len, dim]);
}

/**
 * Host-side values of `sincos3d(centres, dim)`, row-major [n, dim]. Columns: [0, D/3) temporal,
 * [D/3, 2D/3) height, [2D/3, D) width; each block is a 1D sin-cos of that coordinate, so D must be
 * a multiple of 6 (as TubeViT asserts).
 */
export function sincos3dValues(centres: readonly (readonly number[])[], dim: number): Float32Array {
  requirePositiveInts("build 3D sin-cos position embedding", { dim });
  if (dim % 6 !== 0) {
    throw new ConfigError({
      action: "build 3D sin-cos position embedding",
      reason: `dim must be a multiple of 6, got ${dim}`,
    });
  }
  const bad = centres.findIndex((c) => c.length !== 3 || !c.every(Number.isFinite));
  if (bad >= 0) {
    throw new ConfigError({
      action: "build 3D sin-cos position embedding",
      reason: `centre ${bad} must be 3 finite numbers (t, h, w), got [${centres[bad]}]`,
    });
  }
  const third = dim / 3;
  const out = new Float32Array(centres.length * dim);
  [0, 1, 2].forEach((axis) => writeSinCos(out, dim, axis * third, third, centres.map((c) => c[axis])));
  return out;
}

/**
 * TubeViT's fixed 3D position embedding at tube centres (t, h, w), e.g. idx * stride + offset +
 * kernel // 2 per axis: [n, 3] -> [n, D]. D/3 channels encode t and 2D/3 encode space (halves for
 * h and w).
 */
export function sincos3d(centres: readonly (readonly number[])[], dim: number): tf.Tensor2D {
  return tf.tensor2d(sincos3dValues(centres, dim), [centres.length, dim]);
}
