/**
 * What flows through the input pipeline: plain typed arrays, never tensors, so that streams can
 * buffer, reorder and drop items without owning GPU/wasm memory. The model side turns a `Batch`
 * into tensors at the last moment.
 *
 * Letters: N frames, H/W frame height/width, F spectrogram columns (= N * r), Mb mel bins, L text.
 */

/** A decoded clip: N frames at the sampling rate asked for, with the log-mel of the same span. */
export type Clip = {
  readonly id: string;
  /** float32 [N, H, W, 3] in [0, 1], row-major */
  readonly video: Float32Array;
  readonly videoShape: readonly [number, number, number, 3];
  /** float32 [F, Mb] log-mel spectrogram, F = N * columnsPerFrame */
  readonly audio: Float32Array;
  readonly audioShape: readonly [number, number];
  /** uint8 [N]: 1 for a decoded frame, 0 for padding after the end of a short clip */
  readonly mediaMask: Uint8Array;
  /** false when the file had no audio track and `audio` is the log-mel of silence */
  readonly hasAudio: boolean;
  /** frames per second the N frames were sampled at (25 in the paper) */
  readonly fps: number;
};

/** A clip with its text: question + answer, or a caption, as token ids. */
export type Example = Clip & {
  /** int32 [L] token ids, padded with the tokenizer's PAD id */
  readonly text: Int32Array;
  /** uint8 [L]: 1 for real tokens, 0 for padding */
  readonly textMask: Uint8Array;
  /** uint8 [L]: 1 where the token is scored (the answer for QA, everything for captions) */
  readonly lossMask: Uint8Array;
};

/** B examples stacked to fixed shapes, ready to become the model's input tensors. */
export type Batch = {
  readonly ids: readonly string[];
  readonly video: Float32Array; // [B, N, H, W, 3]
  readonly videoShape: readonly [number, number, number, number, 3];
  readonly audio: Float32Array; // [B, F, Mb]
  readonly audioShape: readonly [number, number, number];
  readonly mediaMask: Uint8Array; // [B, N]
  readonly text: Int32Array; // [B, L]
  readonly textMask: Uint8Array; // [B, L]
  readonly lossMask: Uint8Array; // [B, L]
  readonly textShape: readonly [number, number];
};
