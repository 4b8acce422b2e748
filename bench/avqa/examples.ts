/**
 * Model inputs of the task, from cached clips: the seeded training batches (one question per clip,
 * `batchSize` clips per step) and the media of eval clips, with the modality ablations (a zeroed
 * modality carries no information: every clip looks the same there).
 *
 * The training stream is unbounded and seeded (clip i of AVQA_TASK.trainSeed for every i); a run uses
 * the first `pool` clips of it, decoded once, and walks a fresh seeded permutation of them per epoch,
 * with a fresh seeded question type per visit, so batch s is a pure function of (seed, s).
 *
 * Letters: B batch, N frames, H/W frame size, F spectrogram columns, Mb mel bins, L text.
 */
import { seededUniform } from "../../data/batch.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import type { Batch } from "../../data/types.ts";
import type { ClipSet } from "./clip_cache.ts";
import { type AvqaTask, qaTokens, QUESTION_TYPES } from "./task.ts";

/** Which modalities the model sees (issue 10 §3: video only = audio zeroed, audio only = video zeroed). */
export type Modality = "both" | "video" | "audio";

/** Float32 media of clips `indices` of `set`: video [B, N, H, W, 3] in [0, 1], audio [B, F, Mb]. */
export function clipMedia(
  set: ClipSet,
  indices: readonly number[],
  modality: Modality = "both",
): { video: Float32Array; audio: Float32Array } {
  const [N, H, W] = set.frameShape, [F, Mb] = set.audioShape;
  const frame = N * H * W * 3, spec = F * Mb;
  const video = new Float32Array(indices.length * frame); // [B, N, H, W, 3]
  const audio = new Float32Array(indices.length * spec); // [B, F, Mb]
  indices.forEach((c, b) => {
    if (modality !== "audio") {
      const src = set.video.subarray(c * frame, (c + 1) * frame);
      for (let j = 0; j < frame; j++) video[b * frame + j] = src[j] / 255;
    }
    if (modality !== "video") audio.set(set.audio.subarray(c * spec, (c + 1) * spec), b * spec);
  });
  return { video, audio };
}

/** A data/ `Batch` of clips `indices`, clip b asked question `types[b]` (0..3 in QUESTION_TYPES order). */
export function qaBatch(
  set: ClipSet,
  indices: readonly number[],
  types: readonly number[],
  o: { readonly tokenizer: Tokenizer; readonly task: AvqaTask; readonly modality?: Modality },
): Batch {
  const B = indices.length, L = o.task.textLength;
  const [N, H, W] = set.frameShape, [F, Mb] = set.audioShape;
  const { video, audio } = clipMedia(set, indices, o.modality);
  const text = new Int32Array(B * L), textMask = new Uint8Array(B * L), lossMask = new Uint8Array(B * L);
  indices.forEach((c, b) => {
    const qa = set.questions[c].find((q) => q.type === QUESTION_TYPES[types[b]])!;
    const t = qaTokens(o.tokenizer, qa, o.task);
    text.set(t.text, b * L);
    textMask.set(t.textMask, b * L);
    lossMask.set(t.lossMask, b * L);
  });
  return {
    ids: indices.map((c) => set.scenes[c].id),
    video,
    videoShape: [B, N, H, W, 3],
    audio,
    audioShape: [B, F, Mb],
    mediaMask: new Uint8Array(B * N).fill(1),
    text,
    textMask,
    lossMask,
    textShape: [B, L],
  };
}

/** splitmix-style mixing of two integers into one seed. */
function mix(a: number, b: number): number {
  let h = (Math.imul(a | 0, 0x9e3779b1) ^ Math.imul(b | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  return (h ^ (h >>> 15)) >>> 0;
}

/** The seeded permutation of [0, n) used in `epoch`. */
export function epochOrder(seed: number, epoch: number, n: number): number[] {
  const rand = seededUniform(mix(seed, epoch));
  const order = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [order[i], order[j]] = [order[j], order[i]];
  }
  return order;
}

/**
 * The training batches: `(step) => Batch`, a pure function of (seed, step), for train/loop.ts.
 * Visit g = step * B + b is clip epochOrder(seed, floor(g / pool))[g % pool] with a question type
 * drawn from (seed, g).
 */
export function trainBatches(
  pool: ClipSet,
  o: {
    readonly seed: number;
    readonly batchSize: number;
    readonly tokenizer: Tokenizer;
    readonly task: AvqaTask;
    readonly modality?: Modality;
  },
): (step: number) => Batch {
  const P = pool.scenes.length;
  const orders = new Map<number, number[]>();
  const orderOf = (epoch: number) => {
    if (!orders.has(epoch)) {
      orders.delete(epoch - 2); // keep the current and previous epoch only
      orders.set(epoch, epochOrder(o.seed, epoch, P));
    }
    return orders.get(epoch)!;
  };
  return (step) => {
    const indices: number[] = [], types: number[] = [];
    for (let b = 0; b < o.batchSize; b++) {
      const g = step * o.batchSize + b;
      indices.push(orderOf(Math.floor(g / P))[g % P]);
      types.push(Math.floor(seededUniform(mix(o.seed ^ 0x5bd1e995, g))() * QUESTION_TYPES.length));
    }
    return qaBatch(pool, indices, types, o);
  };
}
