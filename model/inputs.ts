/**
 * One batch of model inputs, and its validation against a config. A wrong batch fails here with an
 * InputError that names the field, the expected and the actual shape, instead of deep inside a matmul.
 *
 * Letters: B batch, N frames, H/W image size, r columns per frame, L text length.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Data } from "effect";
import { type Key, keysFor, normalValues, uniformValues } from "../transforms/random.ts";
import type { AudioConfig, AudioVideoConfig, MirasolConfig } from "./config.ts";
import { findBadValue } from "./media_values.ts";

const SYNC_READ_BACKENDS: readonly string[] = ["wasm", "cpu"];

export type MirasolBatch = {
  /** float32 [B, N, H, W, 3] in [0, 1], N = T * K frames at 25 fps. */
  readonly video: tf.Tensor;
  /**
   * float32 [B, N * r, melBins] log-mel spectrogram; columns n*r .. n*r+r-1 belong to frame n.
   * Required with an audio config; without audio (`audio: null`) it may be absent and is not read.
   */
  readonly audio?: tf.Tensor;
  /** int32 [B, L] token ids. logits[:, l] predict text[:, l + 1] (teacher forcing). */
  readonly text: tf.Tensor;
  /** [B, L] 1 for real tokens, 0 for padding (any numeric or bool dtype). */
  readonly textMask: tf.Tensor;
  /** [B, L] 1 where text[:, l] is a scored target (all of a caption, only the answer in QA). */
  readonly lossMask: tf.Tensor;
};

/** A batch for a config with audio: `audio` is present. */
export type AudioVideoBatch = MirasolBatch & { readonly audio: tf.Tensor };

/** A batch field is unusable: `Cannot use batch.audio: expected [2, 128, 64], got [2, 120, 64] (audio not aligned ...)`. */
export class InputError extends Data.TaggedError("InputError")<{
  readonly field: string;
  readonly expected: string;
  readonly got: string;
  readonly reason?: string;
}> {
  override get message(): string {
    return `Cannot use batch.${this.field}: expected ${this.expected}, got ${this.got}${
      this.reason ? ` (${this.reason})` : ""
    }`;
  }
}

const inputError = (field: string, expected: string, got: string, reason?: string) =>
  new InputError({ field, expected, got, reason });

const shapeText = (s: readonly (number | string)[]) => `[${s.join(", ")}]`;

export type ValidateOptions = {
  /**
   * Check media values: video in [0, 1], no NaN or Inf in video or audio (default true). Callers
   * that checked their data already (train/batch_tensors.ts, on the host) may turn it off.
   */
  readonly checkValues?: boolean;
};

/**
 * Checks every field's rank, shape and dtype against the config and each other, and that text ids
 * lie in [0, vocab). Returns B and L. Reads the id range back from the backend (one small sync).
 */
export function validateBatch(
  batch: MirasolBatch,
  config: MirasolConfig,
  opts: ValidateOptions = {},
): { batch: number; length: number } {
  const { frames: N, chunks: T, height: H, width: W } = config.video;
  const withAudio = config.audio !== null;
  const fields = ["video", ...(withAudio ? ["audio"] as const : []), "text", "textMask", "lossMask"] as const;
  for (const f of fields) {
    if (!(batch[f] instanceof tf.Tensor)) {
      throw inputError(f, "a tf.Tensor", batch[f] === undefined ? "nothing" : typeof batch[f]);
    }
  }
  const { video, text, textMask, lossMask } = batch;
  if (video.rank !== 5) throw inputError("video", shapeText(["B", N, H, W, 3]), shapeText(video.shape));
  const [B, n] = (video as tf.Tensor5D).shape;
  if (n % T !== 0) {
    throw inputError(
      "video",
      shapeText([B, N, H, W, 3]),
      shapeText(video.shape),
      `N = ${n} frames cannot be split into T = ${T} equal chunks`,
    );
  }
  const expectVideo = [B, N, H, W, 3];
  if (video.shape.some((d, i) => d !== expectVideo[i])) {
    throw inputError("video", shapeText(expectVideo), shapeText(video.shape));
  }
  if (video.dtype !== "float32") throw inputError("video", "dtype float32", `dtype ${video.dtype}`);
  if (config.audio !== null) checkAudio(batch.audio as tf.Tensor, B, N, config.audio);
  const maxL = config.text.maxLength;
  if (text.rank !== 2 || text.shape[0] !== B) {
    throw inputError("text", shapeText([B, "L"]), shapeText(text.shape));
  }
  const L = (text as tf.Tensor2D).shape[1];
  if (L < 1 || L > maxL) {
    throw inputError(
      "text",
      shapeText([B, `L <= ${maxL}`]),
      shapeText(text.shape),
      "text.maxLength of the config",
    );
  }
  if (text.dtype !== "int32") throw inputError("text", "dtype int32", `dtype ${text.dtype}`);
  for (const [f, m] of [["textMask", textMask], ["lossMask", lossMask]] as const) {
    if (m.rank !== 2 || m.shape[0] !== B || m.shape[1] !== L) {
      throw inputError(f, shapeText([B, L]), shapeText(m.shape));
    }
    if (m.dtype === "string" || m.dtype === "complex64") {
      throw inputError(f, "a numeric or bool dtype", `dtype ${m.dtype}`);
    }
  }
  // Symbolic backends (abstract evaluation, tracing for export) have shapes but no ids to check, and
  // webgpu under Deno cannot read synchronously (tfjs reads through an OffscreenCanvas Deno lacks);
  // batches built from host arrays (train/batch_tensors.ts) are checked before upload instead.
  if (!SYNC_READ_BACKENDS.includes(tf.getBackend())) return { batch: B, length: L };
  const [lo, hi] = tf.tidy(() => [tf.min(text), tf.max(text)]).map((t) => {
    const v = t.dataSync()[0] ?? 0;
    t.dispose();
    return v;
  });
  const V = config.text.vocab;
  if (lo < 0 || hi >= V) {
    throw inputError("text", `ids in [0, ${V})`, `ids in [${lo}, ${hi}]`, "ids outside the vocabulary");
  }
  if (opts.checkValues ?? true) {
    const media = [["video", video, { lo: 0, hi: 1 }], [
      "audio",
      withAudio ? batch.audio : undefined,
      undefined,
    ]] as const;
    for (const [field, x, range] of media) {
      if (x === undefined) continue;
      const bad = findBadValue(x, range);
      if (bad) throw inputError(field, bad.expected, bad.got, bad.reason);
    }
  }
  return { batch: B, length: L };
}

/** batch.audio against the video's B and N frames: [B, N * r, melBins], float32. */
function checkAudio(audio: tf.Tensor, B: number, N: number, a: AudioConfig): void {
  const { columnsPerFrame: r, melBins } = a;
  const expectAudio = [B, N * r, melBins];
  if (audio.rank !== 3) throw inputError("audio", shapeText(expectAudio), shapeText(audio.shape));
  if (audio.shape[0] !== B) {
    throw inputError(
      "audio",
      shapeText(expectAudio),
      shapeText(audio.shape),
      "batch size differs from video",
    );
  }
  if (audio.shape[1] !== N * r) {
    throw inputError(
      "audio",
      shapeText(expectAudio),
      shapeText(audio.shape),
      `audio not aligned with video: ${N} frames need ${N * r} columns at ${r} per frame`,
    );
  }
  if (audio.shape[2] !== melBins) {
    throw inputError(
      "audio",
      shapeText(expectAudio),
      shapeText(audio.shape),
      `config has ${melBins} mel bins`,
    );
  }
  if (audio.dtype !== "float32") throw inputError("audio", "dtype float32", `dtype ${audio.dtype}`);
}

/** One video (and its audio) per row: the media part of a batch, for inference. */
export type Media = Pick<MirasolBatch, "video" | "audio">;

/** Checks video and audio against the config as `validateBatch` would (with a placeholder text) -> B. */
export function validateMedia(media: Media, config: MirasolConfig, opts: ValidateOptions = {}): number {
  const B = media.video?.shape?.[0] ?? 0;
  const text = tf.zeros([B, 1], "int32"), ones = tf.ones([B, 1]);
  try {
    return validateBatch({ ...media, text, textMask: ones, lossMask: ones }, config, opts).batch;
  } finally {
    tf.dispose([text, ones]);
  }
}

/**
 * A random batch that fits the config, drawn from `key` (same key, same batch on every backend):
 * uniform video in [0, 1), standard-normal spectrogram, uniform token ids, no padding, every
 * position scored. For shape checks, smoke tests and tracing, not for training.
 */
export function exampleBatch(
  key: Key,
  config: AudioVideoConfig,
  opts?: { batch?: number; textLength?: number },
): AudioVideoBatch;
export function exampleBatch(
  key: Key,
  config: MirasolConfig,
  opts?: { batch?: number; textLength?: number },
): MirasolBatch;
export function exampleBatch(
  key: Key,
  config: MirasolConfig,
  opts: { batch?: number; textLength?: number } = {},
): MirasolBatch {
  const B = opts.batch ?? 2, L = opts.textLength ?? Math.min(8, config.text.maxLength);
  const { frames: N, height: H, width: W } = config.video;
  const k = keysFor(key, ["video", "audio", "text"]);
  const a = config.audio;
  const ids = uniformValues(k.text, B * L).map((u) =>
    Math.min(config.text.vocab - 1, Math.floor(u * config.text.vocab))
  );
  return {
    video: tf.tensor(uniformValues(k.video, B * N * H * W * 3), [B, N, H, W, 3]),
    ...(a === null ? {} : {
      audio: tf.tensor(normalValues(k.audio, B * N * a.columnsPerFrame * a.melBins), [
        B,
        N * a.columnsPerFrame,
        a.melBins,
      ]),
    }),
    text: tf.tensor2d(Int32Array.from(ids), [B, L], "int32"),
    textMask: tf.ones([B, L]),
    lossMask: tf.ones([B, L]),
  };
}
