/**
 * Sparse video tubes (TubeViT, Piergiovanni et al. 2023; Mirasol3B §3.1) without Conv3D: when the
 * stride is at least the kernel in every axis, the tubes of one kind tile the chunk on a grid, so
 * they are a slice, a few reshapes and (rank <= 4) slices that keep each tube's first kernel-sized corner of its
 * stride cell, and one transpose. The projection to D is then one matmul (in the video encoder).
 *
 * Letters: X = B*T chunks, K frames/chunk, H/W image size, C channels; (kt, kh, kw) kernel,
 * (st, sh, sw) stride, (oh, ow) offset, (nt, nh, nw) tubes along each axis.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type TubeConfig, tubeGrid } from "./config.ts";
import * as position from "./layers/position.ts";

/**
 * The voxels of every tube of one kind, flattened in (t, h, w, channel) order:
 * x [X, K, H, W, C] -> [X, nt*nh*nw, kt*kh*kw*C], tubes in (t, h, w) raster order.
 * Tube (i, j, k) covers frames i*st .. i*st+kt-1 from the chunk's first frame (no temporal offset,
 * §3.1), rows oh + j*sh .., columns ow + k*sw ...
 */
export function extractTubes(x: tf.Tensor, tube: TubeConfig): tf.Tensor3D {
  const [X, K, H, W, C] = x.shape;
  const [kt, kh, kw] = tube.kernel;
  const [st, sh, sw] = tube.stride;
  const [oh, ow] = tube.offset;
  const [nt, nh, nw] = tubeGrid(tube, K, H, W);
  return tf.tidy(() => {
    // The grid of stride cells; the last cell may stick out past the frame where stride > kernel.
    const take = [Math.min(nt * st, K), Math.min(nh * sh, H - oh), Math.min(nw * sw, W - ow)];
    // Slices stay rank <= 4 (W and C merged, then kh with the rest of a row): tfjs-wasm slices rank 5
    // strided windows element by element in JS, which was most of the step.
    const x4 = tf.reshape(x, [X, K, H, W * C]);
    let cells = tf.reshape(
      tf.slice(x4, [0, 0, oh, ow * C], [X, take[0], take[1], take[2] * C]),
      [X, take[0], take[1], take[2], C],
    ); // [X, <=nt*st, <=nh*sh, <=nw*sw, C]
    const short = [nt * st - take[0], nh * sh - take[1], nw * sw - take[2]];
    if (short.some((s) => s > 0)) {
      // Zeros only ever fall in the unused stride remainder of the last cell, never inside a tube.
      cells = tf.pad(cells, [[0, 0], [0, short[0]], [0, short[1]], [0, short[2]], [0, 0]]);
    }
    let t = tf.reshape(cells, [X * nt, st, nh, sh * nw * sw * C]);
    if (kt < st || kh < sh) t = tf.slice(t, [0, 0, 0, 0], [X * nt, kt, nh, kh * nw * sw * C]); // [X*nt, kt, nh, kh*nw*sw*C]
    t = tf.reshape(t, [X * nt * kt * nh * kh, nw, sw, C]);
    if (kw < sw) t = tf.slice(t, [0, 0, 0, 0], [X * nt * kt * nh * kh, nw, kw, C]); // [.., nw, kw, C]
    t = tf.reshape(t, [X * nt, kt, nh, kh, nw, kw * C]);
    t = tf.transpose(t, [0, 2, 4, 1, 3, 5]); // [X*nt, nh, nw, kt, kh, kw*C]
    return tf.reshape(t, [X, nt * nh * nw, kt * kh * kw * C]) as tf.Tensor3D;
  });
}

/**
 * (t, h, w) centres of the tubes of one kind, in the order `extractTubes` emits them. As in
 * daniel-code/TubeViT (`idx * stride + offset + kernel // 2`), t counted from the chunk's first frame.
 */
export function tubeCentres(tube: TubeConfig, frames: number, height: number, width: number): number[][] {
  const [nt, nh, nw] = tubeGrid(tube, frames, height, width);
  const half = tube.kernel.map((k) => Math.floor(k / 2));
  const out: number[][] = [];
  for (let i = 0; i < nt; i++) {
    for (let j = 0; j < nh; j++) {
      for (let k = 0; k < nw; k++) {
        out.push([
          i * tube.stride[0] + half[0],
          tube.offset[0] + j * tube.stride[1] + half[1],
          tube.offset[1] + k * tube.stride[2] + half[2],
        ]);
      }
    }
  }
  return out;
}

/** kt*kh*kw*C: the length of one flattened tube. */
export const tubeVolume = (tube: TubeConfig, channels = 3): number =>
  tube.kernel[0] * tube.kernel[1] * tube.kernel[2] * channels;

/**
 * Fixed 3D sincos at token centres, [n, 3] -> [n, D]. TubeViT's split (D/3 temporal, 2D/3 spatial)
 * needs D % 6 == 0; for other widths (the avqa model's D = 128) the first floor(D/6)*6 channels carry
 * it and the remaining < 6 channels get zeros, rather than refusing the width.
 */
export function positionEmbedding3d(centres: readonly (readonly number[])[], dim: number): tf.Tensor2D {
  const used = Math.floor(dim / 6) * 6;
  if (used === dim) return position.sincos3d(centres, dim);
  return tf.tidy(() => tf.pad(position.sincos3d(centres, used), [[0, 0], [0, dim - used]]) as tf.Tensor2D);
}
