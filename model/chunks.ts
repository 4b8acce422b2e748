/**
 * How the flat token sequence is cut into chunks, and the chunk-time position every chunk-causal part
 * adds. Chunk-time position: a fixed sinusoid of the chunk index t added to every token
 * of chunk t. Fixed (no table sized by T), so a config with more chunks has the same parameters.
 * The paper gives no Combiner positions; lucidrains/mirasol-pytorch uses rotary positions of the
 * chunk index in its AV model, the same idea.
 *
 * Letters: B batch, T chunks, n tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as position from "./layers/position.ts";

/** x [B, T, n, D] -> x + sinusoid(t) [B, T, n, D]. */
export function addChunkTime(x: tf.Tensor): tf.Tensor4D {
  const [, T, , D] = (x as tf.Tensor4D).shape;
  return tf.tidy(() => tf.add(x, tf.reshape(position.sinusoidal(T, D), [1, T, 1, D])) as tf.Tensor4D);
}

/** The sinusoid of one chunk index t: [1, 1, D] (streaming and the TTM step). */
export function chunkTimeAt(t: number, dim: number): tf.Tensor3D {
  return tf.tidy(() =>
    tf.reshape(tf.slice(position.sinusoidal(t + 1, dim), [t, 0], [1, dim]), [1, 1, dim]) as tf.Tensor3D
  );
}

/** [B, T, n, D] -> [B, T*n, D] and back: the flat token sequence the chunk-causal masks index. */
export function flatten(x: tf.Tensor): tf.Tensor3D {
  const [B, T, n, D] = (x as tf.Tensor4D).shape;
  return tf.reshape(x, [B, T * n, D]);
}
export function unflatten(x: tf.Tensor, chunks: number): tf.Tensor4D {
  const [B, len, D] = (x as tf.Tensor3D).shape;
  return tf.reshape(x, [B, chunks, len / chunks, D]);
}

/** The last m tokens of every chunk: [B, T, n, D] -> [B, T, m, D] (or of one chunk: [B, n, D] -> [B, m, D]). */
export function lastTokens<R extends tf.Rank.R3 | tf.Rank.R4>(x: tf.Tensor<R>, m: number): tf.Tensor<R> {
  const n = x.shape[x.rank - 2];
  const begin = x.shape.map((_, i) => (i === x.rank - 2 ? n - m : 0));
  const size = x.shape.map((d, i) => (i === x.rank - 2 ? m : d));
  return tf.slice(x, begin, size);
}
