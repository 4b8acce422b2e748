/**
 * Mirasol3B (Piergiovanni et al., CVPR 2024), the whole model as `init` / `forward` / `loss` over one
 * parameter tree:
 *   video, audio --(encoders, per chunk)--> u --(Combiner, chunk-causal)--> x
 *   x --(random masking in training; latent causal model)--> h
 *   h --(reconstruction transformer)--> prediction of v_small of the next chunk
 *   text --(decoder: causal self-attention, cross-attention to all of h)--> logits
 *
 * Letters: B batch, N frames, T chunks, n = f + s tokens per chunk, m Combiner outputs, D width,
 * L text length, V vocab, P reconstruction target size.
 */
import * as tf from "@tensorflow/tfjs-core";
import { foldIn, type Key, keysFor } from "../transforms/random.ts";
import * as audioEncoder from "./audio_encoder.ts";
import * as combiner from "./combiner/mod.ts";
import { combinerMask } from "./combiner_masking.ts";
import { type MirasolConfig, validateConfig } from "./config.ts";
import { ConfigError } from "./errors.ts";
import { type Media, type MirasolBatch, validateBatch, validateMedia } from "./inputs.ts";
import * as latent from "./latent.ts";
import type * as transformer from "./layers/transformer.ts";
import { latentLoss, reconstructionLoss, textLoss, totalLoss } from "./losses.ts";
import { diagonal, latentObjective, targetShift } from "./masked_chunks.ts";
import * as reconstruction from "./reconstruction.ts";
import * as textDecoder from "./text_decoder.ts";
import * as videoEncoder from "./video_encoder.ts";

type StackParams = transformer.StackParams;

export type MirasolParams = {
  /** The ViT shared by video and audio (only when `shareBackbone`). */
  readonly backbone?: StackParams;
  readonly video_encoder: videoEncoder.VideoEncoderParams & { readonly backbone?: StackParams };
  /** Absent without audio (`audio: null`). */
  readonly audio_encoder?: audioEncoder.AudioEncoderParams & { readonly backbone?: StackParams };
  readonly combiner: combiner.CombinerParams;
  /** Absent when `latentDepth` is 0 (Tab. 5a ablation: h = x). */
  readonly latent?: latent.LatentParams;
  readonly reconstruction: reconstruction.ReconstructionParams;
  readonly text_decoder: textDecoder.TextDecoderParams;
};

export type ForwardOptions = {
  readonly config: MirasolConfig;
  /** Enables dropout and the Combiner-output masking; both need `key` then. */
  readonly train: boolean;
  readonly key?: Key;
  /** Check media values at the door (model/media_values.ts; default true): off for callers who checked. */
  readonly checkValues?: boolean;
};

export type ForwardOutput = {
  /** Encoder outputs, video then audio tokens of each chunk: [B, T, n, D]. */
  readonly u: tf.Tensor4D;
  /** Combiner outputs [B, T, m, D]. */
  readonly x: tf.Tensor4D;
  /** Latent model outputs [B, T, m, D], what the text decoder reads; h_t predicts x_{t+1} when chunk-causal. */
  readonly h: tf.Tensor4D;
  /**
   * What the latent loss scores [B, T, m, D]: h itself (against x_{t+1}), or with a bidirectional latent
   * model the output at chunk t of the pass that hid x_t (against x_t; masked_chunks.ts).
   */
  readonly prediction: tf.Tensor4D;
  /** Text logits [B, L, V]; logits[:, l] predict text[:, l+1]. */
  readonly logits: tf.Tensor3D;
  /** Predictions made at chunk t of chunk t+1's v_small [B, T, P_v] (and pooled audio [B, T, P_a]); of chunk t's own with a bidirectional latent model. */
  readonly reconstruction: { readonly video: tf.Tensor3D; readonly audio?: tf.Tensor3D };
};

export function init(key: Key, config: MirasolConfig): MirasolParams {
  const c = validateConfig(config);
  const k = keysFor(key, [
    "backbone",
    "video_encoder",
    "audio_encoder",
    "combiner",
    "latent",
    "reconstruction",
    "text_decoder",
  ]);
  const video = videoEncoder.init(k.video_encoder, c);
  const audio = c.audio === null ? null : audioEncoder.init(k.audio_encoder, c);
  const rest = {
    combiner: combiner.init(k.combiner, c),
    ...(c.latentDepth > 0 ? { latent: latent.init(k.latent, c) } : {}),
    reconstruction: reconstruction.init(k.reconstruction, c),
    text_decoder: textDecoder.init(k.text_decoder, c),
  };
  if (c.shareBackbone) {
    return {
      backbone: videoEncoder.initBackbone(k.backbone, c),
      video_encoder: video,
      ...(audio ? { audio_encoder: audio } : {}),
      ...rest,
    };
  }
  return {
    video_encoder: { ...video, backbone: videoEncoder.initBackbone(foldIn(k.backbone, 0), c) },
    ...(audio
      ? { audio_encoder: { ...audio, backbone: videoEncoder.initBackbone(foldIn(k.backbone, 1), c) } }
      : {}),
    ...rest,
  };
}

function backbones(p: MirasolParams, c: MirasolConfig): { video: StackParams; audio: StackParams | null } {
  const video = c.shareBackbone ? p.backbone : p.video_encoder.backbone;
  const audio = c.audio === null ? null : c.shareBackbone ? p.backbone : p.audio_encoder?.backbone;
  if (!video || audio === undefined) {
    throw new ConfigError({
      action: "run Mirasol",
      reason: `params have no ${
        c.shareBackbone ? "shared backbone" : "per-modality backbones"
      } but config.shareBackbone is ${c.shareBackbone}`,
    });
  }
  return { video, audio };
}

/** u [B, T, n, D] from the raw inputs: each chunk encoded on its own, so u_t depends on chunk t only. */
export function encode(
  p: MirasolParams,
  batch: Pick<MirasolBatch, "video" | "audio">,
  opts: ForwardOptions,
): tf.Tensor4D {
  const { config: c, train } = opts;
  const k = opts.key && keysFor(opts.key, ["video", "audio"]);
  const bb = backbones(p, c);
  return tf.tidy(() => {
    const v = videoEncoder.apply(p.video_encoder, bb.video, batch.video, { config: c, train, key: k?.video }); // [B, T, f, D]
    if (bb.audio === null) return v; // without audio, u is the video tokens alone
    if (!p.audio_encoder || !batch.audio) {
      throw new ConfigError({
        action: "encode audio",
        reason: "params or batch lack audio for an audio config",
      });
    }
    const a = audioEncoder.apply(p.audio_encoder, bb.audio, batch.audio, { config: c, train, key: k?.audio }); // [B, T, s, D]
    return tf.concat([v, a], 2) as tf.Tensor4D; // [B, T, f+s, D]
  });
}

/** The latent model's attention mask: chunk-causal or bidirectional as configured, AND the Combiner-output masking in training. */
function latentAttentionMask(x: tf.Tensor4D, c: MirasolConfig, train: boolean, maskKey?: Key): tf.Tensor {
  const [B, T, m] = x.shape;
  const bidirectional = c.latentAttention === "bidirectional";
  return combinerMask({ train, ratio: c.combinerMaskRatio, key: maskKey, bidirectional }, {
    batch: B,
    chunks: T,
    tokens: m,
  }).mask;
}

type MediaKeys = Record<"encode" | "combiner" | "mask" | "latent" | "hidden", Key>;

/**
 * The media side of the model: video, audio -> u, x, h (no text). With `passes`, also the latent
 * model's masked-chunk passes [T*B, T, m, D] when the config's objective needs them (masked_chunks.ts).
 */
function media(p: MirasolParams, batch: Media, opts: ForwardOptions & { passes?: boolean }, k?: MediaKeys) {
  const { config: c, train } = opts;
  const u = encode(p, batch, { config: c, train, key: k?.encode });
  const x = combiner.apply(p.combiner, u, { config: c, train, key: k?.combiner }); // [B, T, m, D]
  if (!p.latent) return { u, x, h: x, passes: null };
  const mask = latentAttentionMask(x, c, train, k?.mask);
  const run = { mask, train, dropout: c.dropout };
  const h = latent.apply(p.latent, x, { ...run, key: k?.latent }); // [B, T, m, D]
  const passes = opts.passes && latentObjective(c) === "masked_chunk"
    ? latent.applyHidingEachChunk(p.latent, x, { ...run, key: k?.hidden }) // [T*B, T, m, D]
    : null;
  return { u, x, h, passes };
}

/**
 * h [B, T, m, D] for inference (no dropout, no masking, the latent attention the model was trained
 * with): what the text decoder cross-attends to, computed once per video. Equal to `forward(...).h`.
 */
export function mediaContext(p: MirasolParams, m: Media, config: MirasolConfig): tf.Tensor4D {
  validateMedia(m, config);
  return tf.tidy(() => media(p, m, { config, train: false }).h);
}

/** The whole model on one batch (validated first). */
export function forward(p: MirasolParams, batch: MirasolBatch, opts: ForwardOptions): ForwardOutput {
  const { config: c, train } = opts;
  validateBatch(batch, c, { checkValues: opts.checkValues });
  const k = opts.key &&
    keysFor(opts.key, ["encode", "combiner", "mask", "latent", "hidden", "reconstruction", "text"]);
  return tf.tidy(() => {
    const { u, x, h, passes } = media(p, batch, { ...opts, passes: true }, k);
    const B = x.shape[0];
    const reconOpts = { train, key: k?.reconstruction, dropout: c.dropout };
    // Masked-chunk objective: chunk t's predictions come from the pass that hid x_t.
    const recon = passes
      ? diagonalRecon(reconstruction.apply(p.reconstruction, passes, reconOpts), B)
      : reconstruction.apply(p.reconstruction, h, reconOpts);
    const prediction = (passes ? diagonal(passes, B) : h) as tf.Tensor4D;
    const logits = textDecoder.apply(p.text_decoder, batch.text, batch.textMask, h, {
      train,
      key: k?.text,
      dropout: c.dropout,
    }); // [B, L, V]
    return { u, x, h, prediction, logits, reconstruction: recon };
  }) as ForwardOutput;
}

function diagonalRecon(r: { video: tf.Tensor3D; audio?: tf.Tensor3D }, batch: number) {
  const video = diagonal(r.video, batch) as tf.Tensor3D;
  return r.audio ? { video, audio: diagonal(r.audio, batch) as tf.Tensor3D } : { video };
}

export type LossOutput = {
  readonly latent: tf.Scalar;
  readonly reconstruction: tf.Scalar;
  readonly text: tf.Scalar;
  /** Weighted by `config.losses`. */
  readonly total: tf.Scalar;
};

/** Every loss term of §3.5 and their weighted total. */
export function loss(p: MirasolParams, batch: MirasolBatch, opts: ForwardOptions): LossOutput {
  const c = opts.config;
  return tf.tidy(() => {
    const out = forward(p, batch, opts);
    // Without a latent model there is nothing that predicts x_{t+1}: the term is 0.
    const shift = targetShift(c);
    const latentTerm = p.latent
      ? latentLoss(out.prediction, out.x, { stopGradient: c.latentStopGradient, shift })
      : tf.scalar(0);
    const videoTerm = reconstructionLoss(
      out.reconstruction.video,
      reconstruction.videoTargets(batch.video, c),
      { shift },
    );
    const reconTerm = out.reconstruction.audio
      ? tf.div(
        tf.add(
          videoTerm,
          reconstructionLoss(
            out.reconstruction.audio,
            reconstruction.audioTargets(batch.audio as tf.Tensor, c),
            {
              shift,
            },
          ),
        ),
        2,
      ) as tf.Scalar
      : videoTerm;
    const textTerm = textLoss(out.logits, batch.text, batch.textMask, batch.lossMask);
    const terms = { latent: latentTerm, reconstruction: reconTerm, text: textTerm };
    return { ...terms, total: totalLoss(terms, c.losses) };
  });
}
