/**
 * The Mirasol3B signatures an export carries, at fixed batch size B and text length L (XLA/TPU need
 * static shapes):
 * - `forward`(video, audio, text, text_mask) -> {logits [B, L, V], h [B, T, m, D]}
 * - `loss`(video, audio, text, text_mask, loss_mask) -> {latent, reconstruction, text, total}
 * - `encode`(video, audio) -> {h}: the text-independent part, to answer many questions about one video.
 * All run with train = false: dropout and Combiner masking draw from keys on the host, which a
 * static graph cannot hold (they would be frozen into constants).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { MirasolConfig, MirasolParams } from "../../model/mod.ts";
import * as model from "../../model/mod.ts";
import type { ShapeDtype } from "../../transforms/tree.ts";
import type { SignatureSpec } from "./export.ts";

export type MirasolShapes = { readonly batch: number; readonly textLength: number };

/** The keyword inputs, by name, with their static shapes. */
export function mirasolInputs(config: MirasolConfig, s: MirasolShapes): Record<"video" | "audio" | "text" | "text_mask" | "loss_mask", ShapeDtype> {
  const { frames: N, height: H, width: W } = config.video;
  const { columnsPerFrame: r, melBins } = config.audio;
  const B = s.batch, L = s.textLength;
  return {
    video: { shape: [B, N, H, W, 3], dtype: "float32" },
    audio: { shape: [B, N * r, melBins], dtype: "float32" },
    text: { shape: [B, L], dtype: "int32" },
    text_mask: { shape: [B, L], dtype: "float32" },
    loss_mask: { shape: [B, L], dtype: "float32" },
  };
}

export function mirasolSignatures(config: MirasolConfig, s: MirasolShapes): Record<"forward" | "loss" | "encode", SignatureSpec<MirasolParams>> {
  const inputs = mirasolInputs(config, s);
  const opts = { config, train: false } as const;
  const pick = <K extends keyof typeof inputs>(...keys: K[]) => Object.fromEntries(keys.map((k) => [k, inputs[k]])) as Pick<typeof inputs, K>;
  return {
    forward: {
      inputs: pick("video", "audio", "text", "text_mask"),
      fn: (p, i) => {
        const out = model.forward(p, { video: i.video, audio: i.audio, text: i.text, textMask: i.text_mask, lossMask: i.text_mask }, opts);
        return { logits: out.logits, h: out.h };
      },
    },
    loss: {
      inputs: pick("video", "audio", "text", "text_mask", "loss_mask"),
      fn: (p, i) => {
        const l = model.loss(p, { video: i.video, audio: i.audio, text: i.text, textMask: i.text_mask, lossMask: i.loss_mask }, opts);
        return { latent: l.latent, reconstruction: l.reconstruction, text: l.text, total: l.total };
      },
    },
    encode: {
      inputs: pick("video", "audio"),
      fn: (p, i) => {
        // One placeholder token: the text decoder does not feed h, and its nodes are pruned away.
        const B = s.batch;
        const text = tf.zeros([B, 1], "int32"), ones = tf.ones([B, 1]);
        return { h: model.forward(p, { video: i.video, audio: i.audio, text, textMask: ones, lossMask: ones }, opts).h };
      },
    },
  };
}
