/**
 * Decode once, train many times: clips of the task are rendered by ffmpeg (data/synthetic.ts), decoded
 * (data/decode.ts) and stored as one binary block per 256 consecutive clips, so epochs and later runs
 * read arrays instead of running ffmpeg again.
 *
 *   <cacheDir>/<config hash>/clips/<id>.mp4 + <id>.json     rendered clips and their ground truth
 *   <cacheDir>/<config hash>/<seed>_<size>_<block>.bin            video uint8 [C, N, H, W, 3] then audio f32 [C, F, Mb]
 *   <cacheDir>/<config hash>/<seed>_<size>_<block>.json           index: ids, shapes, byte offsets
 *
 * Video is kept as the decoder's bytes (decode.ts gives byte / 255, so this is lossless and 4x smaller).
 * The hash covers the render and decode settings, so a changed config never reads stale arrays.
 *
 * Letters: C clips, N frames, H/W frame size, F spectrogram columns (N * r), Mb mel bins.
 */
import { Data, Effect, Stream } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { decodeClip, type DecodeOptions } from "../../data/decode.ts";
import type { BadMediaConfig, MediaError, RenderError } from "../../data/errors.ts";
import { LOG_MEL_DEFAULTS } from "../../data/logmel.ts";
import {
  type QAPair,
  synthetic,
  syntheticQuestions,
  type SyntheticScene,
  syntheticScene,
} from "../../data/synthetic.ts";
import { crc32c } from "../../formats/crc32c.ts";
import type { AvqaTask } from "./task.ts";

/** Clips per cached block by default: the 500-clip eval set is two blocks. */
export const BLOCK_CLIPS = 250;
const CACHE_VERSION = 1;

/** Decoded clips `start .. start + count - 1` of one seed, as flat arrays. */
export type ClipSet = {
  readonly seed: number;
  readonly start: number;
  readonly scenes: readonly SyntheticScene[];
  /** [C][4] the four QA pairs of each clip */
  readonly questions: readonly (readonly QAPair[])[];
  /** uint8 [C, N, H, W, 3] */
  readonly video: Uint8Array;
  /** float32 [C, F, Mb] log-mel */
  readonly audio: Float32Array;
  /** [N, H, W] */
  readonly frameShape: readonly [number, number, number];
  /** [F, Mb] */
  readonly audioShape: readonly [number, number];
};

export class ClipCacheError extends Data.TaggedError("ClipCacheError")<{
  readonly file: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot use the clip cache at ${this.file}: ${this.reason}`;
  }
}

type Index = {
  readonly version: number;
  readonly seed: number;
  readonly start: number;
  readonly ids: readonly string[];
  readonly frameShape: [number, number, number];
  readonly audioShape: [number, number];
};

type Spawner = ChildProcessSpawner.ChildProcessSpawner;
export type ClipCacheFailure = ClipCacheError | MediaError | RenderError | BadMediaConfig;

export function decodeOptions(task: AvqaTask): DecodeOptions {
  const s = task.synthetic;
  return {
    frames: s.frames,
    height: s.height,
    width: s.width,
    fps: s.fps,
    requireAudio: true,
    logMel: { ...LOG_MEL_DEFAULTS, sampleRate: s.sampleRate },
  };
}

/** The folder of this task's render + decode settings under `cacheDir`. */
export function cacheFolder(cacheDir: string, task: AvqaTask): string {
  const settings = JSON.stringify({
    v: CACHE_VERSION,
    synthetic: task.synthetic,
    decode: decodeOptions(task),
  });
  const hash = crc32c(new TextEncoder().encode(settings)).toString(16).padStart(8, "0");
  return join(cacheDir, hash);
}

const attempt = <A>(file: string, f: () => Promise<A>) =>
  Effect.tryPromise({
    try: f,
    catch: (e) => new ClipCacheError({ file, reason: e instanceof Error ? e.message : String(e) }),
  });

/** Renders and decodes one block, then writes it (under a temporary name, renamed when complete). */
function buildBlock(
  folder: string,
  task: AvqaTask,
  seed: number,
  start: number,
  count: number,
  concurrency: number,
  onClip?: () => void,
): Effect.Effect<void, ClipCacheFailure, Spawner> {
  return Effect.gen(function* () {
    const clipsDir = join(folder, "clips");
    const opts = decodeOptions(task);
    const clips = yield* synthetic(clipsDir, {
      ...task.synthetic,
      seed,
      count,
      startIndex: start,
      concurrency,
    }).pipe(
      Stream.mapEffect((c) => decodeClip(c.path, { ...opts, id: c.scene.id }), { concurrency }),
      Stream.tap(() => Effect.sync(() => onClip?.())),
      Stream.runCollect,
    );
    const list = [...clips];
    const [N, H, W] = list[0].videoShape;
    const [F, Mb] = list[0].audioShape;
    const video = new Uint8Array(count * N * H * W * 3);
    const audio = new Float32Array(count * F * Mb);
    list.forEach((c, i) => {
      const frame = N * H * W * 3;
      for (let j = 0; j < frame; j++) video[i * frame + j] = Math.round(c.video[j] * 255);
      audio.set(c.audio, i * F * Mb);
    });
    const index: Index = {
      version: CACHE_VERSION,
      seed,
      start,
      ids: list.map((c) => c.id),
      frameShape: [N, H, W],
      audioShape: [F, Mb],
    };
    const base = join(folder, `${seed}_${count}_${start / count}`);
    const bytes = new Uint8Array(video.byteLength + audio.byteLength);
    bytes.set(video, 0);
    bytes.set(new Uint8Array(audio.buffer), video.byteLength);
    yield* attempt(`${base}.bin`, async () => {
      await writeFile(`${base}.bin.partial`, bytes);
      await rename(`${base}.bin.partial`, `${base}.bin`);
      await writeFile(`${base}.json`, JSON.stringify(index));
    });
  });
}

function readBlock(
  folder: string,
  seed: number,
  size: number,
  block: number,
): Effect.Effect<{ index: Index; video: Uint8Array; audio: Float32Array } | undefined, ClipCacheError> {
  const base = join(folder, `${seed}_${size}_${block}`);
  return Effect.gen(function* () {
    const text = yield* attempt(`${base}.json`, () => readFile(`${base}.json`, "utf8")).pipe(
      Effect.catch(() => Effect.succeed(undefined)),
    );
    if (text === undefined) return undefined;
    const index = JSON.parse(text) as Index;
    const bytes = yield* attempt(`${base}.bin`, () => readFile(`${base}.bin`));
    const [N, H, W] = index.frameShape, [F, Mb] = index.audioShape, C = index.ids.length;
    const videoBytes = C * N * H * W * 3;
    if (index.version !== CACHE_VERSION || bytes.byteLength !== videoBytes + C * F * Mb * 4) {
      return yield* new ClipCacheError({
        file: `${base}.bin`,
        reason: `expected ${
          videoBytes + C * F * Mb * 4
        } bytes of version ${CACHE_VERSION}, got ${bytes.byteLength} of version ${index.version}`,
      });
    }
    const copy = new Uint8Array(bytes.byteLength); // aligned for the Float32Array view
    copy.set(bytes);
    return {
      index,
      video: copy.subarray(0, videoBytes),
      audio: new Float32Array(copy.buffer, videoBytes, C * F * Mb),
    };
  });
}

/**
 * Clips `start .. start + count - 1` of `seed`, rendered and decoded on first use, read from the cache
 * afterwards. `start` must be a multiple of BLOCK_CLIPS (blocks are the unit of caching).
 */
export function loadClips(
  cacheDir: string,
  task: AvqaTask,
  o: {
    readonly seed: number;
    readonly count: number;
    readonly start?: number;
    readonly concurrency?: number;
    /** clips per cached block (default BLOCK_CLIPS); part of the file name */
    readonly blockClips?: number;
    readonly onClip?: () => void;
  },
): Effect.Effect<ClipSet, ClipCacheFailure, Spawner> {
  return Effect.gen(function* () {
    const start = o.start ?? 0, size = o.blockClips ?? BLOCK_CLIPS;
    if (start % size !== 0 || !(o.count > 0)) {
      return yield* new ClipCacheError({
        file: cacheDir,
        reason:
          `start must be a multiple of ${size} and count positive, got start ${start}, count ${o.count}`,
      });
    }
    const folder = cacheFolder(cacheDir, task);
    yield* attempt(folder, () => mkdir(folder, { recursive: true }));
    const videoParts: Uint8Array[] = [], audioParts: Float32Array[] = [];
    let frameShape: Index["frameShape"] = [0, 0, 0], audioShape: Index["audioShape"] = [0, 0];
    for (let first = start; first < start + o.count; first += size) {
      const block = first / size;
      let read = yield* readBlock(folder, o.seed, size, block);
      if (!read) {
        yield* buildBlock(folder, task, o.seed, first, size, o.concurrency ?? 2, o.onClip);
        read = yield* readBlock(folder, o.seed, size, block);
      }
      if (!read) {
        return yield* new ClipCacheError({ file: folder, reason: `block ${block} vanished after writing` });
      }
      const expectedIds = Array.from(
        { length: size },
        (_, i) => syntheticScene(o.seed, first + i, task.synthetic).id,
      );
      if (read.index.ids.join() !== expectedIds.join()) {
        return yield* new ClipCacheError({
          file: folder,
          reason: `block ${block} of seed ${o.seed} holds clips ${read.index.ids[0]}.. but should hold ${
            expectedIds[0]
          }..`,
        });
      }
      const take = Math.min(size, start + o.count - first);
      const [N, H, W] = read.index.frameShape, [F, Mb] = read.index.audioShape;
      frameShape = read.index.frameShape;
      audioShape = read.index.audioShape;
      videoParts.push(read.video.subarray(0, take * N * H * W * 3));
      audioParts.push(read.audio.subarray(0, take * F * Mb));
    }
    const scenes = Array.from(
      { length: o.count },
      (_, i) => syntheticScene(o.seed, start + i, task.synthetic),
    );
    return {
      seed: o.seed,
      start,
      scenes,
      questions: scenes.map(syntheticQuestions),
      video: concat(videoParts, (n) => new Uint8Array(n)),
      audio: concat(audioParts, (n) => new Float32Array(n)),
      frameShape,
      audioShape,
    };
  });
}

function concat<A extends Uint8Array | Float32Array>(parts: readonly A[], make: (n: number) => A): A {
  if (parts.length === 1) return parts[0];
  const out = make(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p as never, at);
    at += p.length;
  }
  return out;
}
