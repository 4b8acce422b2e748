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
 * One write is all-or-nothing (see shard_manifest.ts): shards go to temporary names, are synced and
 * renamed to `<name>-00000-of-0000N.<write>.tfrecord` once the stream has ended (N is only known
 * then), and the manifest `<name>.shards.json` written last commits them. Only then are the previous
 * write's shards removed, so a reader through the manifest sees the old set or the new one, whenever
 * the writer stops. A failed or interrupted write removes its own files; a SIGKILLed one leaves temps
 * that the next write into the folder removes.
 */
import { Data, Effect, Exit, Stream } from "effect";
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { encodeExample, encodeRecord, type Features } from "../formats/tfrecord.ts";
import { encodePng, rgbRaster } from "../formats/png.ts";
import {
  cleanStaleTemps,
  openAtomic,
  type PendingFile,
  syncDir,
  writeFileAtomic,
} from "../formats/atomic_write.ts";
import type { Example } from "./types.ts";
import {
  MANIFEST_FORMAT,
  manifestName,
  readManifest,
  shardKind,
  type ShardManifest,
} from "./shard_manifest.ts";

export type TFRecordOptions = {
  /** examples per shard */
  readonly shardSize: number;
  /** shard file prefix (default "data") */
  readonly name?: string;
  /** float features (exact) or PNG-encoded frames (8-bit, about 4x smaller); default "float" */
  readonly video?: "float" | "png";
  /**
   * replace `<name>-*.tfrecord` shards in `dir` that no manifest of this writer lists (another
   * tool's, an older version's). Default false: such a folder is refused. The previous write of
   * this writer is always replaced.
   */
  readonly overwrite?: boolean;
};

export type ShardReport = {
  readonly shards: readonly string[];
  readonly examples: number;
  /** path of `<name>.shards.json`, what listShards and the TF driver read */
  readonly manifest: string;
};

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

const pad5 = (i: number) => String(i).padStart(5, "0");
const shardName = (name: string, i: number, n: number, write: string) =>
  `${name}-${pad5(i)}-of-${pad5(n)}.${write}.tfrecord`;
/** 8 base-36 characters: the write id that keeps one write's shard names apart from another's */
const writeId = () =>
  Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => "0123456789abcdefghijklmnopqrstuvwxyz"[b % 36])
    .join("");

/** The first problem with the options, or undefined. */
function optionProblem(o: TFRecordOptions): string | undefined {
  if (!Number.isInteger(o.shardSize) || o.shardSize < 1) {
    return `shardSize must be a positive integer, got ${o.shardSize}`;
  }
  if (o.name !== undefined && !/^[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(o.name)) {
    return `name must be a plain file-name prefix (letters, digits, _ . -), got ${JSON.stringify(o.name)}`;
  }
  if (o.video !== undefined && o.video !== "float" && o.video !== "png") {
    return `video must be "float" or "png", got ${JSON.stringify(o.video)}`;
  }
  return undefined;
}

/** Writes the stream as sharded TFRecords in `dir` (created if needed); see the module comment. */
export function writeTFRecords<E, R>(
  examples: Stream.Stream<Example, E, R>,
  dir: string,
  options: TFRecordOptions,
): Effect.Effect<ShardReport, E | ShardWriteError, R> {
  const bad = optionProblem(options);
  if (bad) return Effect.fail(new ShardWriteError({ path: dir, reason: bad }));
  const { shardSize } = options;
  const name = options.name ?? "data", video = options.video ?? "float";
  const io = <A>(path: string, f: () => Promise<A>) =>
    Effect.tryPromise({ try: f, catch: (e) => new ShardWriteError({ path, reason: (e as Error).message }) });
  return Effect.suspend(() => {
    const write = writeId();
    const pending: PendingFile[] = []; // the open temp (last) and the closed ones, until committed
    const renamed: string[] = [];
    const counts: number[] = [], sizes: number[] = [];
    let inShard = 0, count = 0, committed = false;
    const owns = (target: string) => target === manifestName(name) || target.startsWith(`${name}-`);
    const writeOne = (e: Example) =>
      Effect.gen(function* () {
        if (pending.length === 0 || inShard === shardSize) {
          const target = join(dir, `${name}-${pad5(pending.length)}.${write}.tfrecord`);
          pending.push(yield* io(target, () => openAtomic(target)));
          counts.push(0);
          sizes.push(0);
          inShard = 0;
        }
        const record = encodeRecord(encodeExample(exampleFeatures(e, video)));
        const file = pending[pending.length - 1];
        yield* io(file.temp, async () => {
          for (let done = 0; done < record.length;) done += await file.file.write(record.subarray(done));
        });
        inShard++;
        counts[counts.length - 1]++;
        sizes[sizes.length - 1] += record.length;
        count++;
      });
    const finish = (before: Before) =>
      Effect.gen(function* () {
        const n = pending.length;
        const files = pending.map((_, i) => shardName(name, i, n, write));
        for (let i = 0; i < n; i++) {
          const path = join(dir, files[i]);
          yield* io(path, () => pending[i].commit(path));
          renamed.push(path);
        }
        const manifest: ShardManifest = {
          format: MANIFEST_FORMAT,
          name,
          write,
          examples: count,
          video,
          shards: files.map((file, i) => ({ file, examples: counts[i], bytes: sizes[i] })),
        };
        const manifestPath = join(dir, manifestName(name));
        yield* io(
          manifestPath,
          () => writeFileAtomic(manifestPath, JSON.stringify(manifest, null, 1) + "\n"),
        );
        committed = true;
        // the new set is committed: what the old manifest listed (and foreign shards, when asked) goes
        yield* Effect.promise(async () => {
          for (const f of before.replaced) await rm(join(dir, f), { force: true }).catch(() => {});
          await syncDir(dir);
        });
        return { shards: renamed, examples: count, manifest: manifestPath };
      });
    const cleanUp = Effect.promise(async () => {
      if (committed) return;
      for (const p of pending) await p.abort();
      for (const path of renamed) await rm(path, { force: true }).catch(() => {});
    });
    return Effect.gen(function* () {
      yield* io(dir, () => mkdir(dir, { recursive: true }));
      yield* io(dir, () => cleanStaleTemps(dir, owns));
      const before = yield* inspect(dir, name, options.overwrite ?? false);
      yield* Stream.runForEach(examples, writeOne);
      return yield* finish(before);
    }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : cleanUp)));
  });
}

/** What a write into `dir` replaces once it commits. */
type Before = { readonly replaced: readonly string[] };

/**
 * The files of shard set `name` already in `dir`: the last write's (replaced), leftovers of an
 * interrupted write (removed now), and shards no manifest lists (refused unless `overwrite`).
 */
function inspect(dir: string, name: string, overwrite: boolean): Effect.Effect<Before, ShardWriteError> {
  return Effect.gen(function* () {
    const files = yield* Effect.tryPromise({
      try: () => readdir(dir),
      catch: (e) =>
        new ShardWriteError({ path: dir, reason: `cannot list the folder (${(e as Error).message})` }),
    });
    const manifest = yield* readManifest(dir, name).pipe(
      Effect.catchTag(
        "ShardListError",
        (e) =>
          overwrite ? Effect.succeed(undefined) : Effect.fail(
            new ShardWriteError({ path: dir, reason: `${e.reason}; pass overwrite: true to replace it` }),
          ),
      ),
    );
    const listed = new Set(manifest?.shards.map((s) => s.file) ?? []);
    const foreign = files.filter((f) => !listed.has(f) && shardKind(name, f) === "foreign").sort();
    const leftovers = files.filter((f) => !listed.has(f) && shardKind(name, f) === "ours");
    if (foreign.length > 0 && !overwrite) {
      const shown = foreign.slice(0, 3).join(", ") + (foreign.length > 3 ? `, ... (${foreign.length})` : "");
      return yield* new ShardWriteError({
        path: dir,
        reason: `it holds '${name}' shards that no manifest of this writer lists (${shown}); ` +
          "pass overwrite: true to replace them, or write elsewhere",
      });
    }
    yield* Effect.promise(async () => {
      for (const f of leftovers) await rm(join(dir, f), { force: true }).catch(() => {});
    });
    return { replaced: [...listed, ...foreign] };
  });
}
