/**
 * The latent objective of the bidirectional ablation (Tab. 5c "Ours + BD"): masked-chunk prediction.
 *
 * Why not the causal objective: with bidirectional attention h_t sees x_{t+1}, the very target of
 * "h_t predicts x_{t+1}", so the loss is solved by copying and the ablation measures nothing. Why this
 * one: BERT/MAE's answer to the same problem. For every chunk t, x_t is replaced at the latent model's
 * INPUT by a learned mask vector (its token and chunk positions are still added, so the model knows
 * what to fill in) and the output at chunk t is trained to predict x_t; the reconstruction head
 * likewise predicts v_small_t from that pass. Hiding only the keys would not do: chunk t's own
 * queries carry x_t in their residual stream, and after one layer every other token has read it.
 * Every chunk is hidden in its own pass (T passes batched as T*B rows, like the causal loss, which
 * scores every chunk), so the loss needs no key and is the same in training and evaluation, at T
 * times the latent model's cost. The text decoder still reads the unmasked pass, `h`, which is what
 * inference computes (mirasol.ts `mediaContext`).
 *
 * What it does not remove: the Combiner is chunk-causal, so x_{t+1} = Combiner(u_1..u_{t+1}) carries
 * information about chunk t. Predicting x_t is then inference from context, not a copy: no path leads
 * from x_t to its own prediction (tests/model/bidirectional_latent_test.ts perturbs x_t to check).
 *
 * Letters: B batch, T chunks, m tokens per chunk, D width, P target size.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MirasolConfig } from "./config.ts";

/** The objective of the config's latent model: which chunk h's prediction at chunk t is scored against. */
export type LatentObjective = "next_chunk" | "masked_chunk";

export function latentObjective(c: MirasolConfig): LatentObjective {
  // Without a latent model (latentDepth 0, h = x) nothing attends, so nothing can copy.
  return c.latentAttention === "bidirectional" && c.latentDepth > 0 ? "masked_chunk" : "next_chunk";
}

/** 1 for the next-chunk objective (h_t vs x_{t+1}), 0 for the masked chunk (prediction_t vs x_t). */
export function targetShift(c: MirasolConfig): 0 | 1 {
  return latentObjective(c) === "masked_chunk" ? 0 : 1;
}

/** sel [T, 1, T, 1, 1]: row s (the pass) is 1 at chunk s. */
function passSelector(T: number, trailing: number): tf.Tensor {
  const shape = [T, 1, T, ...Array.from({ length: trailing }, () => 1)];
  // Built on the host: tf.oneHot refuses depth 1, and T = 1 is a valid config.
  return tf.tensor(Float32Array.from({ length: T * T }, (_, i) => (i % (T + 1) === 0 ? 1 : 0)), shape);
}

/**
 * x [B, T, m, D] -> [T*B, T, m, D]: row s*B + b is sample b with chunk s replaced by `maskVector` [D].
 */
export function hideEachChunk(x: tf.Tensor, maskVector: tf.Tensor): tf.Tensor4D {
  const [B, T, m, D] = (x as tf.Tensor4D).shape;
  return tf.tidy(() => {
    const sel = passSelector(T, 2); // [T, 1, T, 1, 1]
    const rows = tf.broadcastTo(tf.reshape(x, [1, B, T, m, D]), [T, B, T, m, D]);
    const hidden = tf.add(tf.mul(rows, tf.sub(1, sel)), tf.mul(tf.reshape(maskVector, [1, 1, 1, 1, D]), sel));
    return tf.reshape(hidden, [T * B, T, m, D]) as tf.Tensor4D; // [T*B, T, m, D]
  });
}

/** A [B, ...] attention mask for the T*B rows of `hideEachChunk` (a mask without batch axis is shared). */
export function tileMask(mask: tf.Tensor, chunks: number): tf.Tensor {
  if (mask.rank < 4) return tf.clone(mask);
  const [B, ...rest] = mask.shape;
  return tf.tidy(() =>
    tf.reshape(tf.broadcastTo(tf.reshape(mask, [1, B, ...rest]), [chunks, B, ...rest]), [chunks * B, ...rest])
  );
}

/** y [T*B, T, ...] (row s*B + b from pass s) -> [B, T, ...]: chunk t taken from pass t. */
export function diagonal(y: tf.Tensor, batch: number): tf.Tensor {
  const [TB, T, ...rest] = y.shape;
  if (TB !== T * batch) {
    throw new RangeError(`Cannot take the pass diagonal of [${y.shape}]: expected ${T * batch} rows`);
  }
  return tf.tidy(() => {
    const sel = passSelector(T, rest.length); // [T, 1, T, 1...]
    return tf.sum(tf.mul(tf.reshape(y, [T, batch, T, ...rest]), sel), 0); // [B, T, ...]
  });
}
