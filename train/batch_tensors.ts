/**
 * The boundary between the input pipeline and the model: a data/types.ts `Batch` (typed arrays that
 * streams can buffer freely) becomes the model's input tensors at the last moment. Everything is
 * checked on the host first (lengths against shapes, shapes against the config, token ids against
 * the vocabulary), so a bad batch fails with an InputError naming the field, not inside a matmul.
 *
 * `mediaMask` (padding frames after the end of a short clip) has no model input: Mirasol3B sees the
 * padded frames as black video and silent audio, as in the paper's fixed-length sampling.
 *
 * Letters: B batch, N frames, H/W frame size, F spectrogram columns (N * r), Mb mel bins, L text.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Batch } from "../data/types.ts";
import type { MirasolConfig } from "../model/config.ts";
import { InputError, type MirasolBatch } from "../model/inputs.ts";

const shapeText = (s: readonly (number | string)[]) => `[${s.join(", ")}]`;
const product = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

function checkLength(field: string, data: ArrayLike<number>, shape: readonly number[]): void {
  if (data.length !== product(shape)) {
    throw new InputError({
      field,
      expected: `${product(shape)} values for shape ${shapeText(shape)}`,
      got: `${data.length}`,
      reason: "the typed array and its shape disagree",
    });
  }
}

function checkShape(
  field: string,
  got: readonly number[],
  expected: readonly number[],
  reason?: string,
): void {
  if (got.length !== expected.length || got.some((d, i) => d !== expected[i])) {
    throw new InputError({ field, expected: shapeText(expected), got: shapeText(got), reason });
  }
}

/** Is `x` already the model's tensor batch (rather than host arrays)? */
export function isTensorBatch(x: Batch | MirasolBatch): x is MirasolBatch {
  return x.video instanceof tf.Tensor;
}

/**
 * Checks `batch` against `config` and returns new tensors (the caller disposes them):
 * video float32 [B, N, H, W, 3], audio float32 [B, N * r, Mb], text int32 [B, L], and the two
 * masks float32 [B, L].
 */
export function batchTensors(batch: Batch, config: MirasolConfig): MirasolBatch {
  const { frames: N, height: H, width: W } = config.video;
  const B = batch.videoShape[0];
  if (!Number.isInteger(B) || B < 1) {
    throw new InputError({
      field: "video",
      expected: "at least one example",
      got: shapeText(batch.videoShape),
    });
  }
  checkShape(
    "video",
    batch.videoShape,
    [B, N, H, W, 3],
    `config ${config.name} takes ${N} frames of ${H}x${W}`,
  );
  checkLength("video", batch.video, batch.videoShape);
  // A config without audio does not read the batch's audio (data decoded with it may still carry it).
  const a = config.audio;
  if (a !== null) {
    const { columnsPerFrame: r, melBins: Mb } = a;
    checkShape(
      "audio",
      batch.audioShape,
      [B, N * r, Mb],
      `${N} frames need ${N * r} columns of ${Mb} mel bins at ${r} columns per frame`,
    );
    checkLength("audio", batch.audio, batch.audioShape);
  }
  const L = batch.textShape[1];
  if (batch.textShape[0] !== B || !(L >= 1 && L <= config.text.maxLength)) {
    throw new InputError({
      field: "text",
      expected: shapeText([B, `1 <= L <= ${config.text.maxLength}`]),
      got: shapeText(batch.textShape),
    });
  }
  for (
    const [field, data] of [["text", batch.text], ["textMask", batch.textMask], [
      "lossMask",
      batch.lossMask,
    ]] as const
  ) {
    checkLength(field, data, batch.textShape);
  }
  const V = config.text.vocab;
  const bad = batch.text.findIndex((id) => id < 0 || id >= V);
  if (bad >= 0) {
    throw new InputError({
      field: "text",
      expected: `ids in [0, ${V})`,
      got: `id ${batch.text[bad]} at example ${Math.floor(bad / L)}, position ${bad % L}`,
      reason: "ids outside the vocabulary: was the data tokenized for another config?",
    });
  }
  const shape2 = [B, L] as [number, number];
  return {
    video: tf.tensor5d(batch.video, [B, N, H, W, 3], "float32"),
    ...(a === null
      ? {}
      : { audio: tf.tensor3d(batch.audio, [B, N * a.columnsPerFrame, a.melBins], "float32") }),
    text: tf.tensor2d(batch.text, shape2, "int32"),
    textMask: tf.tensor2d(Float32Array.from(batch.textMask), shape2, "float32"),
    lossMask: tf.tensor2d(Float32Array.from(batch.lossMask), shape2, "float32"),
  };
}

/** Disposes every tensor of a model batch. */
export function disposeBatch(batch: MirasolBatch): void {
  for (const t of [batch.video, batch.audio, batch.text, batch.textMask, batch.lossMask]) t?.dispose();
}
