/**
 * The Mirasol3B signatures an export carries, at fixed batch size B and text length L (XLA/TPU need
 * static shapes):
 * - `forward`(video, audio, text, text_mask) -> {logits [B, L, V], h [B, T, m, D]}
 * - `loss`(video, audio, text, text_mask, loss_mask) -> {latent, reconstruction, text, total}
 * - `encode`(video, audio) -> {h}: the text-independent part, to answer many questions about one video.
 * These three run with train = false (evaluation and serving). Training runs
 * - `train_loss`(video, audio, text, text_mask, loss_mask, key) -> {latent, reconstruction, text, total}:
 *   exactly `loss(params, batch, {config, train: true, key})`, with the Combiner-output masking and
 *   dropout drawn in the graph from `key` (uint32 [2], a PRNGKey's words) by the same Threefry as
 *   TypeScript, so one key gives the same masks on both sides;
 * - `fold_in`(key, data) -> {key} and `split`(key) -> {keys [2, 2]}: jax-style key derivation in the
 *   graph, with which the driver derives each step's and each replica's key from one seed;
 * - `diagnostics`(video, audio, text, text_mask, loss_mask) -> the collapse diagnostics of x and h
 *   (spread across samples and tokens, effective rank, latent loss vs a shuffled-target baseline).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MirasolConfig, MirasolParams } from "../../model/mod.ts";
import * as model from "../../model/mod.ts";
import { diagnose } from "../../train/diagnostics.ts";
import { THREEFRY_HASH } from "../../transforms/prng_kernels.ts";
import { split, tensorKey } from "../../transforms/random.ts";
import type { ShapeDtype } from "../../transforms/tree.ts";
import type { SignatureSpec } from "./export.ts";

export type MirasolShapes = { readonly batch: number; readonly textLength: number };

/** Keyword inputs that hold PRNG key words: int32 in the traced graph, uint32 in TensorFlow (same bits). */
export const KEY_INPUTS: readonly string[] = ["key"];

const KEY: ShapeDtype = { shape: [2], dtype: "int32" };

/** The keyword inputs, by name, with their static shapes. */
export function mirasolInputs(
  config: MirasolConfig,
  s: MirasolShapes,
): Record<"video" | "audio" | "text" | "text_mask" | "loss_mask", ShapeDtype> {
  const { frames: N, height: H, width: W } = config.video;
  const a = config.audio;
  const B = s.batch, L = s.textLength;
  return ({
    video: { shape: [B, N, H, W, 3], dtype: "float32" },
    // Without audio the signatures take no audio input at all (`pick` drops it).
    ...(a === null ? {} : { audio: { shape: [B, N * a.columnsPerFrame, a.melBins], dtype: "float32" } }),
    text: { shape: [B, L], dtype: "int32" },
    text_mask: { shape: [B, L], dtype: "float32" },
    loss_mask: { shape: [B, L], dtype: "float32" },
  }) as Record<"video" | "audio" | "text" | "text_mask" | "loss_mask", ShapeDtype>;
}

export type MirasolSignature =
  | "forward"
  | "loss"
  | "encode"
  | "train_loss"
  | "fold_in"
  | "split"
  | "diagnostics";

export function mirasolSignatures(
  config: MirasolConfig,
  s: MirasolShapes,
): Record<MirasolSignature, SignatureSpec<MirasolParams>> {
  const inputs = mirasolInputs(config, s);
  const opts = { config, train: false } as const;
  const pick = <K extends keyof typeof inputs>(...keys: K[]) =>
    Object.fromEntries(keys.filter((k) => k in inputs).map((k) => [k, inputs[k]])) as Pick<typeof inputs, K>;
  return {
    forward: {
      inputs: pick("video", "audio", "text", "text_mask"),
      fn: (p, i) => {
        const out = model.forward(p, {
          video: i.video,
          audio: i.audio,
          text: i.text,
          textMask: i.text_mask,
          lossMask: i.text_mask,
        }, opts);
        return { logits: out.logits, h: out.h };
      },
    },
    loss: {
      inputs: pick("video", "audio", "text", "text_mask", "loss_mask"),
      fn: (p, i) => {
        const l = model.loss(p, {
          video: i.video,
          audio: i.audio,
          text: i.text,
          textMask: i.text_mask,
          lossMask: i.loss_mask,
        }, opts);
        return { latent: l.latent, reconstruction: l.reconstruction, text: l.text, total: l.total };
      },
    },
    train_loss: {
      words: KEY_INPUTS,
      inputs: { ...pick("video", "audio", "text", "text_mask", "loss_mask"), key: KEY },
      fn: (p, i) => {
        const batch = {
          video: i.video,
          audio: i.audio,
          text: i.text,
          textMask: i.text_mask,
          lossMask: i.loss_mask,
        };
        const l = model.loss(p, batch, { config, train: true, key: tensorKey(i.key) });
        return { latent: l.latent, reconstruction: l.reconstruction, text: l.text, total: l.total };
      },
    },
    fold_in: {
      words: ["key"],
      inputs: { key: KEY, data: { shape: [], dtype: "int32" } },
      // data < 2^32 (a step or a replica id): the counter pair (0, data), as foldIn hashes it.
      fn: (_p, i) => ({ key: foldInWords(i.key, i.data) }),
    },
    split: {
      words: ["key", "keys"],
      inputs: { key: KEY },
      fn: (_p, i) => ({ keys: tf.stack(split(tensorKey(i.key), 2).map((k) => k.words)) }),
    },
    // The collapse diagnostics of x and h (train/diagnostics.ts), which the driver logs during training.
    diagnostics: {
      inputs: pick("video", "audio", "text", "text_mask", "loss_mask"),
      fn: (p, i) => {
        const batch = {
          video: i.video,
          audio: i.audio,
          text: i.text,
          textMask: i.text_mask,
          lossMask: i.loss_mask,
        };
        return { ...diagnose(p, batch, { config }) };
      },
    },
    encode: {
      inputs: pick("video", "audio"),
      fn: (p, i) => {
        // One placeholder token: the text decoder does not feed h, and its nodes are pruned away.
        const B = s.batch;
        const text = tf.zeros([B, 1], "int32"), ones = tf.ones([B, 1]);
        return {
          h: model.forward(p, { video: i.video, audio: i.audio, text, textMask: ones, lossMask: ones }, opts)
            .h,
        };
      },
    },
  };
}

/** foldIn(key, data) for a data tensor: ThreefryHash(key, [0, data]) (foldIn hashes the pair (hi, lo)). */
function foldInWords(key: tf.Tensor, data: tf.Tensor): tf.Tensor {
  const counts = tf.concat([tf.zeros([1], "int32"), tf.reshape(data, [1])]);
  return tf.engine().runKernel(THREEFRY_HASH, { key, counts } as unknown as tf.NamedTensorMap) as tf.Tensor;
}
