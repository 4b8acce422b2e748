/**
 * Where the training loop's batches come from. `BatchSource`: a function of the step, or an
 * (async) iterable, of data/ `Batch`es (typed arrays) or model tensors. `syntheticBatches`: seeded
 * random clips whose caption is learnable from the media, a pure function of the step (so a resumed
 * run sees the same batches): each clip has a class c; the video is a colour wave with phase c, the
 * audio a tone in mel bin c, and the text `BOS, c, c+1, ...` (ids offset by 2). The first caption
 * token needs the video or audio, the rest follow from the text, so the text loss can fall from
 * ln V towards 0. For smoke tests, demos and the CLI's `--data synthetic`, never for results.
 * (Shards on disk: data/tfrecord_batches.ts.)
 *
 * Letters: B batch, N frames, H/W frame size, r columns per frame, Mb mel bins, L text, C classes.
 */
import { Effect } from "effect";
import { stack } from "../data/batch.ts";
import type { Batch, Example } from "../data/types.ts";
import type { MirasolConfig } from "../model/config.ts";
import type { MirasolBatch } from "../model/inputs.ts";
import { foldIn, type Key, normalValues, PRNGKey, uniformValues } from "../transforms/random.ts";

export class TrainDataError extends Error {
  override readonly name = "TrainDataError";
}

export type SyntheticOptions = {
  readonly batchSize: number;
  readonly seed: number;
  /** A finite set of this many clips, cycled; default: a new batch every step. */
  readonly pool?: number;
  /** Caption length (default min(8, text.maxLength)). */
  readonly textLength?: number;
};

/** Classes of the synthetic data (ids 2 .. C+1 are the class tokens; 0 pad, 1 BOS). */
export const syntheticClasses = (c: MirasolConfig): number => Math.max(1, Math.min(8, c.text.vocab - 2));

/** A config without audio gets clips with an empty spectrogram (the model does not read it). */
const NO_AUDIO = { columnsPerFrame: 0, melBins: 0 } as const;

function syntheticExample(id: string, key: Key, c: MirasolConfig, L: number): Example {
  const { frames: N, height: H, width: W } = c.video;
  const { columnsPerFrame: r, melBins: Mb } = c.audio ?? NO_AUDIO;
  const C = syntheticClasses(c);
  const [u] = uniformValues(foldIn(key, 0), 1);
  const cls = Math.min(C - 1, Math.floor(u * C));
  const noise = uniformValues(foldIn(key, 1), N * H * W * 3);
  const video = new Float32Array(N * H * W * 3); // [N, H, W, 3]
  for (let t = 0, i = 0; t < N; t++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let ch = 0; ch < 3; ch++, i++) {
          const phase = cls / C + (x + y + t) / (W + H) + ch / 3;
          video[i] = 0.5 + 0.35 * Math.sin(2 * Math.PI * phase) + 0.1 * (noise[i] - 0.5);
        }
      }
    }
  }
  const audio = normalValues(foldIn(key, 2), N * r * Mb).map((v) => 0.3 * v); // [N * r, Mb]
  for (let col = 0; col < N * r; col++) audio[col * Mb + (cls % Mb)] += 2;
  const text = Int32Array.from({ length: L }, (_, l) => (l === 0 ? 1 : 2 + ((cls + l - 1) % C)));
  return {
    id,
    video,
    videoShape: [N, H, W, 3],
    audio,
    audioShape: [N * r, Mb],
    mediaMask: new Uint8Array(N).fill(1),
    hasAudio: c.audio !== null,
    fps: 25,
    text,
    textMask: new Uint8Array(L).fill(1),
    lossMask: new Uint8Array(L).fill(1),
  };
}

/** step -> a seeded batch of synthetic clips (see the module comment). */
export function syntheticBatches(config: MirasolConfig, o: SyntheticOptions): (step: number) => Batch {
  const B = o.batchSize, L = o.textLength ?? Math.min(8, config.text.maxLength);
  const { frames: N, height: H, width: W } = config.video;
  const { columnsPerFrame: r, melBins: Mb } = config.audio ?? NO_AUDIO;
  if (o.pool !== undefined && !(Number.isInteger(o.pool) && o.pool >= 1)) {
    throw new TrainDataError(`Cannot make synthetic data: pool must be a positive integer, got ${o.pool}`);
  }
  const root = PRNGKey(o.seed);
  return (step) => {
    const ids = Array.from({ length: B }, (_, i) => (o.pool ? (step * B + i) % o.pool : step * B + i));
    const examples = ids.map((id) =>
      syntheticExample(`synthetic-${o.seed}-${id}`, foldIn(root, id), config, L)
    );
    return Effect.runSync(stack(examples, { N, H, W, r, Mb, L }, B, 0));
  };
}

/**
 * Where batches come from: a function of the step (0-based; called once per step, in order), or an
 * (async) iterable. Either may give data/ `Batch`es (typed arrays) or model tensors; the loop owns
 * and disposes the tensors it is given.
 */
export type BatchSource =
  | ((step: number) => Batch | MirasolBatch | Promise<Batch | MirasolBatch>)
  | AsyncIterable<Batch | MirasolBatch>
  | Iterable<Batch | MirasolBatch>;

/** Pulls the batch of each step, in order, from any BatchSource. */
export function batchReader(
  data: BatchSource,
): { next(step: number): Promise<Batch | MirasolBatch | undefined>; close(): Promise<void> } {
  if (typeof data === "function") return { next: async (step) => await data(step), close: async () => {} };
  const it = Symbol.asyncIterator in data
    ? (data as AsyncIterable<Batch | MirasolBatch>)[Symbol.asyncIterator]()
    : (data as Iterable<Batch | MirasolBatch>)[Symbol.iterator]();
  return {
    next: async () => {
      const r = await it.next();
      return r.done ? undefined : r.value;
    },
    close: async () => void (await it.return?.()),
  };
}
