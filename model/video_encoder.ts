/**
 * Video encoder (§3.1): per chunk, sparse 3D tubes plus 2D patches (a tube with kernel t = 1), each
 * kind projected to D by its own matmul, fixed 3D sincos position embeddings at the tube centres
 * (TubeViT), then the ViT backbone. Chunks are encoded independently, so v̂_t depends on v_t only.
 *
 * TubeViT derives every tube kernel from one 8x8x8 kernel by trilinear interpolation; the Mirasol
 * paper does not say, so each tube kind here has its own projection (`tubes/i/w`).
 *
 * Letters: B batch, T chunks, K frames/chunk, f video tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import { foldIn, type Key, keysFor } from "../transforms/random.ts";
import { framesPerChunk, type MirasolConfig } from "./config.ts";
import * as dense from "./layers/dense.ts";
import * as transformer from "./layers/transformer.ts";
import { stackConfig } from "./stacks.ts";
import { extractTubes, positionEmbedding3d, tubeCentres, tubeVolume } from "./tubes.ts";

export type VideoEncoderParams = { readonly tubes: readonly dense.DenseParams[] };

export type EncoderOptions = { readonly config: MirasolConfig; readonly train: boolean; readonly key?: Key };

/** The ViT stack of width D shared by video and audio (§3.1); depth `encoderDepth`. */
export function initBackbone(key: Key, c: MirasolConfig): transformer.StackParams {
  return transformer.initStack(key, stackConfig(c, "backbone"));
}

/** One input projection per tube kind: [kt*kh*kw*3, D]. */
export function init(key: Key, c: MirasolConfig): VideoEncoderParams {
  const k = keysFor(key, ["tubes"]);
  return {
    tubes: c.video.tubes.map((tube, i) =>
      dense.init(foldIn(k.tubes, i), { inDim: tubeVolume(tube), outDims: [c.width.dim] })
    ),
  };
}

/** Tube tokens of every chunk with position embeddings, before the backbone: [B*T, f, D]. */
export function embed(p: VideoEncoderParams, video: tf.Tensor, c: MirasolConfig): tf.Tensor3D {
  const { chunks: T, height: H, width: W } = c.video;
  const K = framesPerChunk(c);
  const B = video.shape[0];
  return tf.tidy(() => {
    const chunks = tf.reshape(video, [B * T, K, H, W, 3]); // [B*T, K, H, W, 3]: chunk t = frames tK .. tK+K-1
    const kinds = c.video.tubes.map((tube, i) => {
      const tokens = dense.apply(p.tubes[i], extractTubes(chunks, tube)); // [B*T, n_i, D]
      const pos = positionEmbedding3d(tubeCentres(tube, K, H, W), c.width.dim); // [n_i, D], fixed
      return tf.add(tokens, pos);
    });
    return (kinds.length === 1 ? kinds[0] : tf.concat(kinds, 1)) as tf.Tensor3D; // [B*T, f, D]
  });
}

/** video [B, N, H, W, 3] -> v̂ [B, T, f, D]. */
export function apply(
  p: VideoEncoderParams,
  backbone: transformer.StackParams,
  video: tf.Tensor,
  opts: EncoderOptions,
): tf.Tensor4D {
  return applyBackbone(backbone, embed(p, video, opts.config), video.shape[0], opts);
}

/**
 * The ViT backbone shared by video and audio (§3.1) on each chunk's tokens:
 * tokens [B*T, n, D] -> [B, T, n, D]. Chunks never attend to each other here.
 */
export function applyBackbone(
  backbone: transformer.StackParams,
  tokens: tf.Tensor3D,
  batch: number,
  opts: EncoderOptions,
): tf.Tensor4D {
  const { config: c, train, key } = opts;
  const [, n, D] = tokens.shape;
  const encoded = transformer.applyStack(backbone, tokens, { train, key, dropout: c.dropout }); // [B*T, n, D]
  return tf.reshape(encoded, [batch, c.video.chunks, n, D]) as tf.Tensor4D;
}
