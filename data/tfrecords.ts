/**
 * Examples -> sharded TFRecord files of tf.train.Example, for accelerator training with tf.data.
 *
 * Each record holds (keys as TensorFlow parses them):
 *   id            bytes  [1]
 *   video         float  [N*H*W*3]   (video: "float")  or
 *   video/encoded bytes  [N] PNG frames, 8-bit RGB (video: "png")
 *   video/shape   int64  [4] = N, H, W, 3
 *   media_mask    int64  [N]
 *   audio         float  [F*Mb]      audio/shape int64 [2] = F, Mb
 *   has_audio     int64  [1]         fps float [1]
 *   text, text_mask, loss_mask  int64 [L]
 *
 * Shards are `<name>-00000-of-0000N.tfrecord` with `shardSize` examples each. N is only known at
 * the end, so shards are written under temporary names and renamed once the stream has ended; on
 * failure or interruption the temporary files are deleted, so no partial shard is ever left.
 */
import { Data, Effect, Exit, Stream } from "effect";
import { mkdir, open, rename, rm } from "node:fs/promises";
import type { FileHandle } from "node:fs/promises";
import { join } from "node:path";
import { encodeExample, encodeRecord, type Features } from "../formats/tfrecord.ts";
import { encodePng, rgbRaster } from "../formats/png.ts";
import type { Example } from "./types.ts";

export type TFRecordOptions = {
  /** examples per shard */
  readonly shardSize: number;
  /** shard file prefix (default "data") */
  readonly name?: string;
  /** float features (exact) or PNG-encoded frames (8-bit, about 4x smaller); default "float" */
  readonly video?: "float" | "png";
};

export type ShardReport = { readonly shards: readonly string[]; readonly examples: number };

export class ShardWriteError extends Data.TaggedError("ShardWriteError")<{
  readonly path: string;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot write TFRecord shard ${this.path}: ${this.reason}`;
  }
}

/** The tf.train.Example features of one example (see the module comment for the keys). */
export function exampleFeatures(e: Example, video: "float" | "png" = "float"): Features {
  const [N, H, W] = e.videoShape;
  const frame = H * W * 3;
  const videoFeatures: Features = video === "float" ? { video: { kind: "float", value: e.video } } : {
    "video/encoded": {
      kind: "bytes",
      value: Array.from(
        { length: N },
        (_, t) => encodePng(rgbRaster(e.video.subarray(t * frame, (t + 1) * frame), H, W)),
      ),
    },
  };
  return {
    id: { kind: "bytes", value: [new TextEncoder().encode(e.id)] },
    ...videoFeatures,
    "video/shape": { kind: "int64", value: [...e.videoShape] },
    media_mask: { kind: "int64", value: e.mediaMask },
    audio: { kind: "float", value: e.audio },
    "audio/shape": { kind: "int64", value: [...e.audioShape] },
    has_audio: { kind: "int64", value: [e.hasAudio ? 1 : 0] },
    fps: { kind: "float", value: [e.fps] },
    text: { kind: "int64", value: e.text },
    text_mask: { kind: "int64", value: e.textMask },
    loss_mask: { kind: "int64", value: e.lossMask },
  };
}

const shardName = (name: string, i: number, n: number) =>
  `${name}-${String(i).padStart(5, "0")}-of-${String(n).padStart(5, "0")}.tfrecord`;

/** Writes the stream as sharded TFRecords in `dir` (created if needed); see the module comment. */
export function writeTFRecords<E, R>(
  examples: Stream.Stream<Example, E, R>,
  dir: string,
  options: TFRecordOptions,
): Effect.Effect<ShardReport, E | ShardWriteError, R> {
  const { shardSize } = options;
  const name = options.name ?? "data";
  if (!Number.isInteger(shardSize) || shardSize < 1) {
    return Effect.fail(
      new ShardWriteError({ path: dir, reason: `shardSize must be a positive integer, got ${shardSize}` }),
    );
  }
  const io = <A>(path: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (e) => new ShardWriteError({ path, reason: (e as Error).message }) });
  return Effect.suspend(() => {
    const temps: string[] = [];
    const tag = `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 8)}`;
    let handle: FileHandle | undefined, inShard = 0, count = 0;
    const closeCurrent = Effect.suspend(() => {
      const h = handle;
      handle = undefined;
      return h ? io(temps[temps.length - 1], () => h.close()) : Effect.void;
    });
    const writeOne = (e: Example) =>
      Effect.gen(function* () {
        if (handle === undefined || inShard === shardSize) {
          yield* closeCurrent;
          const path = join(dir, `.${name}-${temps.length}.${tag}.tfrecord.tmp`);
          temps.push(path);
          handle = yield* io(path, () => open(path, "wx"));
          inShard = 0;
        }
        const record = encodeRecord(encodeExample(exampleFeatures(e, options.video)));
        const h = handle;
        yield* io(temps[temps.length - 1], () => h.write(record));
        inShard++;
        count++;
      });
    const finish = Effect.gen(function* () {
      yield* closeCurrent;
      const shards = temps.map((_, i) => join(dir, shardName(name, i, temps.length)));
      for (let i = 0; i < temps.length; i++) yield* io(shards[i], () => rename(temps[i], shards[i]));
      return { shards, examples: count };
    });
    const cleanUp = Effect.suspend(() => {
      const h = handle;
      handle = undefined;
      return Effect.promise(async () => {
        await h?.close().catch(() => {});
        await Promise.all(temps.map((t) => rm(t, { force: true })));
      });
    });
    return io(dir, () => mkdir(dir, { recursive: true })).pipe(
      Effect.andThen(Stream.runForEach(examples, writeOne)),
      Effect.andThen(finish),
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : cleanUp)),
    );
  });
}
