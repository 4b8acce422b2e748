/**
 * Audio encoder (§3.1): the log-mel spectrogram is split into the T chunks of the video (r columns
 * per frame, so chunk t holds exactly the K*r columns of its K frames), cut into non-overlapping
 * patches, put through the audio input projection, and then through the ViT backbone: the SAME
 * weights as the video encoder when `shareBackbone` (the paper's choice, after [14]).
 *
 * Positions: the paper gives none; the tubes' fixed 3D sincos is reused with patch centres
 * (column, mel bin, 0), so audio needs no position parameters either.
 *
 * Letters: B batch, T chunks, K frames/chunk, r columns/frame, F mel bins, s audio tokens per chunk.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type Key, keysFor } from "../transforms/random.ts";
import { framesPerChunk, type MirasolConfig, requireAudio } from "./config.ts";
import * as dense from "./layers/dense.ts";
import { positionEmbedding3d } from "./tubes.ts";
import type * as transformer from "./layers/transformer.ts";
import { applyBackbone, type EncoderOptions } from "./video_encoder.ts";

export type AudioEncoderParams = { readonly projection: dense.DenseParams };

export function init(key: Key, c: MirasolConfig): AudioEncoderParams {
  const k = keysFor(key, ["projection"]);
  const { patchColumns, patchBins } = requireAudio(c, "build the audio encoder");
  return {
    projection: dense.init(k.projection, { inDim: patchColumns * patchBins, outDims: [c.width.dim] }),
  };
}

/** (column, bin, 0) centres of the patches, in the order `patches` emits them (time-major). */
export function patchCentres(c: MirasolConfig): number[][] {
  const { columnsPerFrame: r, melBins: F, patchColumns: pc, patchBins: pb } = requireAudio(c, "encode audio");
  const columns = framesPerChunk(c) * r;
  const out: number[][] = [];
  for (let i = 0; i < columns / pc; i++) {
    for (let j = 0; j < F / pb; j++) out.push([i * pc + Math.floor(pc / 2), j * pb + Math.floor(pb / 2), 0]);
  }
  return out;
}

/** audio [B, N*r, F] -> patches [B*T, s, pc*pb], (column, bin) order inside a patch. */
export function patches(audio: tf.Tensor, c: MirasolConfig): tf.Tensor3D {
  const { columnsPerFrame: r, melBins: F, patchColumns: pc, patchBins: pb } = requireAudio(c, "encode audio");
  const T = c.video.chunks, columns = framesPerChunk(c) * r;
  const B = audio.shape[0];
  return tf.tidy(() => {
    // Contiguous chunks: chunk t = columns t*K*r .. (t+1)*K*r - 1 (lucidrains interleaves them here).
    const x = tf.reshape(audio, [B * T, columns / pc, pc, F / pb, pb]); // [B*T, nc, pc, nb, pb]
    const y = tf.transpose(x, [0, 1, 3, 2, 4]); // [B*T, nc, nb, pc, pb]
    return tf.reshape(y, [B * T, (columns / pc) * (F / pb), pc * pb]) as tf.Tensor3D;
  });
}

/** Projected patches with positions, before the backbone: [B*T, s, D]. */
export function embed(p: AudioEncoderParams, audio: tf.Tensor, c: MirasolConfig): tf.Tensor3D {
  return tf.tidy(() =>
    tf.add(
      dense.apply(p.projection, patches(audio, c)),
      positionEmbedding3d(patchCentres(c), c.width.dim),
    ) as tf.Tensor3D
  );
}

/** audio [B, N*r, F] -> â [B, T, s, D]. */
export function apply(
  p: AudioEncoderParams,
  backbone: transformer.StackParams,
  audio: tf.Tensor,
  opts: EncoderOptions,
): tf.Tensor4D {
  return applyBackbone(backbone, embed(p, audio, opts.config), audio.shape[0], opts); // [B, T, s, D]
}
