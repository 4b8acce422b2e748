/**
 * Which of a chunk's n = f + s Combiner outputs the causal-Transformer Combiner keeps as its m slots.
 *
 * Why not simply the last m (BLIP-3-Video, lucidrains): the tokens of a chunk are ordered
 * [video f; audio s], and s grows with the frames per chunk, so "the last m" changes meaning with the
 * frame count. For paper3b (m = 32) at 128 frames they were the 16 audio tokens and the 16 last
 * patches of a frame's bottom edge; at 512 frames (`withFrames`) all 32 were audio. The same
 * parameters, and the latent model's per-slot positions, then meant different things at the two
 * lengths the paper uses.
 *
 * The rule: half the slots per modality, fixed by m alone (audio floor(m/2), video the rest), the
 * last tokens of each modality's block; only when a modality has fewer tokens than its half does the
 * other take the remaining slots. Video slots come first, audio after, as the tokens are ordered.
 *
 * Letters: B batch, T chunks, n tokens per chunk, f video and s audio tokens per chunk, m slots.
 */
import * as tf from "@tensorflow/tfjs-core";
import { audioTokensPerChunk, combinerTokens, type MirasolConfig, videoTokensPerChunk } from "../config.ts";

export type SlotPlan = {
  /** Video slots: the last `video` of the f video tokens. */
  readonly video: number;
  /** Audio slots: the last `audio` of the s audio tokens. */
  readonly audio: number;
  /** f and s, where the blocks start and end. */
  readonly videoTokens: number;
  readonly audioTokens: number;
};

export function slotPlan(c: MirasolConfig): SlotPlan {
  const m = combinerTokens(c), f = videoTokensPerChunk(c), s = audioTokensPerChunk(c);
  const audio = Math.min(s, Math.max(Math.floor(m / 2), m - f));
  return { video: m - audio, audio, videoTokens: f, audioTokens: s };
}

/** The modality of each slot, in order (for tests and pictures). */
export function slotSources(c: MirasolConfig): ("video" | "audio")[] {
  const p = slotPlan(c);
  return [...Array<"video">(p.video).fill("video"), ...Array<"audio">(p.audio).fill("audio")];
}

/** y [B, T, n, D] -> [B, T, m, D] (or one chunk [B, n, D] -> [B, m, D]): the planned slots. */
export function selectSlots<R extends tf.Rank.R3 | tf.Rank.R4>(
  y: tf.Tensor<R>,
  plan: SlotPlan,
): tf.Tensor<R> {
  const axis = y.rank - 2, f = plan.videoTokens, n = f + plan.audioTokens;
  const take = (from: number, size: number) =>
    tf.slice(
      y,
      y.shape.map((_, i) => (i === axis ? from : 0)),
      y.shape.map((d, i) => (i === axis ? size : d)),
    );
  return tf.tidy(() => {
    const parts = [
      ...(plan.video > 0 ? [take(f - plan.video, plan.video)] : []),
      ...(plan.audio > 0 ? [take(n - plan.audio, plan.audio)] : []),
    ];
    return (parts.length === 1 ? parts[0] : tf.concat(parts, axis)) as tf.Tensor<R>;
  });
}
