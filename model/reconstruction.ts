/**
 * Modality reconstruction (§3.3, §3.5): a separate transformer on h (chunk-causal mask), then, per
 * chunk, the mean of its m outputs projected to the next chunk's downsampled video v_small_{t+1}
 * (and optionally the next chunk's pooled spectrogram). Pooling the m tokens before one linear head
 * is our choice (the paper gives none); lucidrains projects the flattened m*D vector instead, which
 * ties the head's size to m.
 *
 * v_small: each chunk average-pooled to (videoFrames, videoHeight, videoWidth) x 3 (§3.3: "the video
 * input v is down sampled to v_small for the reconstruction target"); pooled spectrogram likewise.
 *
 * Letters: B batch, T chunks, K frames/chunk, m tokens per chunk, D width, P target size.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../transforms/random.ts";
import { flatten, unflatten } from "./chunks.ts";
import { framesPerChunk, type MirasolConfig, requireAudio } from "./config.ts";
import * as dense from "./layers/dense.ts";
import * as transformer from "./layers/transformer.ts";
import { chunkCausalMask } from "./masks.ts";
import { stackConfig } from "./stacks.ts";

export type ReconstructionParams = {
  readonly layers: transformer.StackParams;
  readonly video_head: dense.DenseParams;
  readonly audio_head?: dense.DenseParams;
};

/** P_v = frames * height * width * 3. */
export const videoTargetSize = (c: MirasolConfig): number =>
  c.reconstruction.videoFrames * c.reconstruction.videoHeight * c.reconstruction.videoWidth * 3;

/** P_a = columns * bins. */
export const audioTargetSize = (c: MirasolConfig): number =>
  c.reconstruction.audioColumns * c.reconstruction.audioBins;

export function init(key: Key, c: MirasolConfig): ReconstructionParams {
  const k = keysFor(key, ["layers", "video_head", "audio_head"]);
  const D = c.width.dim;
  const p: ReconstructionParams = {
    layers: transformer.initStack(k.layers, stackConfig(c, "reconstruction")),
    video_head: dense.init(k.video_head, { inDim: D, outDims: [videoTargetSize(c)] }),
  };
  return c.reconstruction.audio
    ? { ...p, audio_head: dense.init(k.audio_head, { inDim: D, outDims: [audioTargetSize(c)] }) }
    : p;
}

/** Mean over blocks: x [R, a*f, b*g, c] viewed [R, a, f, b, g, c] -> [R, a, b, c] means over f and g. */
function pool2(x: tf.Tensor, a: number, b: number): tf.Tensor {
  const [R, A, Bd, C] = x.shape;
  return tf.mean(tf.reshape(x, [R, a, A / a, b, Bd / b, C]), [2, 4]);
}

/** v_small of every chunk: video [B, N, H, W, 3] -> [B, T, P_v]. */
export function videoTargets(video: tf.Tensor, c: MirasolConfig): tf.Tensor3D {
  const { chunks: T, height: H, width: W } = c.video;
  const { videoFrames: kf, videoHeight: hs, videoWidth: ws } = c.reconstruction;
  const K = framesPerChunk(c), B = video.shape[0];
  return tf.tidy(() => {
    const time = pool2(tf.reshape(video, [B * T, K, H * W * 3, 1]), kf, H * W * 3); // [B*T, kf, H*W*3, 1]
    const space = pool2(tf.reshape(time, [B * T * kf, H, W, 3]), hs, ws); // [B*T*kf, hs, ws, 3]
    return tf.reshape(space, [B, T, videoTargetSize(c)]) as tf.Tensor3D;
  });
}

/** Pooled spectrogram of every chunk: audio [B, N*r, F] -> [B, T, P_a]. */
export function audioTargets(audio: tf.Tensor, c: MirasolConfig): tf.Tensor3D {
  const a = requireAudio(c, "build audio reconstruction targets");
  const T = c.video.chunks, columns = framesPerChunk(c) * a.columnsPerFrame, B = audio.shape[0];
  return tf.tidy(() => {
    const x = tf.reshape(audio, [B * T, columns, a.melBins, 1]);
    return tf.reshape(pool2(x, c.reconstruction.audioColumns, c.reconstruction.audioBins), [
      B,
      T,
      audioTargetSize(c),
    ]) as tf.Tensor3D;
  });
}

/** h [B, T, m, D] -> predictions for chunk t+1 at index t: video [B, T, P_v], audio [B, T, P_a]? */
export function apply(
  p: ReconstructionParams,
  h: tf.Tensor,
  opts: { readonly train: boolean; readonly key?: Key; readonly dropout?: number },
): { video: tf.Tensor3D; audio?: tf.Tensor3D } {
  const [, T, m] = h.shape;
  const y = transformer.applyStack(p.layers, flatten(h), {
    mask: chunkCausalMask(T, m),
    train: opts.train,
    key: opts.key,
    dropout: opts.dropout,
  }); // [B, T*m, D]
  const pooled = tf.mean(unflatten(y, T), 2); // [B, T, D]
  const video = dense.apply(p.video_head, pooled) as tf.Tensor3D; // [B, T, P_v]
  return p.audio_head ? { video, audio: dense.apply(p.audio_head, pooled) as tf.Tensor3D } : { video };
}
