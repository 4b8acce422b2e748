/**
 * Training batches read back from the TFRecord shards tfrecords.ts writes (float video; the shards its
 * manifest lists, shard_manifest.ts): every
 * record is kept in memory as bytes and decoded when its batch is asked for. Batches are a pure
 * function of the step: each epoch visits every example once in an order seeded by (seed, epoch),
 * and the last partial batch of an epoch is filled from the next epoch, so every batch has B rows
 * and a resumed run sees the batches an uninterrupted one would.
 *
 * Letters: B batch, N frames, H/W frame size, r columns per frame, F spectrogram columns (N * r),
 * Mb mel bins, L text length.
 */
import { Data, Effect } from "effect";
import { decodeExample, decodeRecords, type Feature } from "../formats/tfrecord.ts";
import { stack } from "./batch.ts";
import { listShards } from "./shard_manifest.ts";
import { seededUniform } from "./seeded_random.ts";
import type { Batch, Example } from "./types.ts";

/** The media layout the shards must have (a MirasolConfig has it). */
export type ShardLayout = {
  readonly video: { readonly frames: number; readonly height: number; readonly width: number };
  readonly audio: { readonly columnsPerFrame: number; readonly melBins: number };
};

/** A shard or one of its examples cannot be used: names the file and what was wrong. */
export class ShardReadError extends Data.TaggedError("ShardReadError")<{
  readonly path: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot read TFRecord shards at '${this.path}': ${this.reason}`;
  }
}

const utf8 = new TextDecoder();

function feature(file: string, f: Record<string, Feature>, name: string, kind: Feature["kind"]): Feature {
  const v = f[name];
  if (!v || v.kind !== kind) {
    const hint = name === "video" && f["video/encoded"]
      ? ' (PNG-encoded video is not supported here: write shards with video: "float")'
      : "";
    throw new ShardReadError({ path: file, reason: `an example has no ${kind} feature '${name}'${hint}` });
  }
  return v;
}

type Dims = { N: number; H: number; W: number; r: number; Mb: number; L: number };

function toExample(file: string, f: Record<string, Feature>, d: Dims): Example {
  const video = Float32Array.from(feature(file, f, "video", "float").value as ArrayLike<number>);
  const audio = Float32Array.from(feature(file, f, "audio", "float").value as ArrayLike<number>);
  const ints = (name: string) =>
    Array.from(feature(file, f, name, "int64").value as ArrayLike<number>, Number);
  const text = Int32Array.from(ints("text"));
  const sizes = {
    video: [video.length, d.N * d.H * d.W * 3],
    audio: [audio.length, d.N * d.r * d.Mb],
    text: [text.length, d.L],
  };
  for (const [name, [got, want]] of Object.entries(sizes)) {
    if (got !== want) {
      throw new ShardReadError({
        path: file,
        reason: `${name} has ${got} values, the config needs ${want} (N=${d.N}, ${d.H}x${d.W}, F=${
          d.N * d.r
        }, Mb=${d.Mb}, L=${d.L})`,
      });
    }
  }
  const id = f.id?.kind === "bytes" ? utf8.decode(f.id.value[0]) : "";
  const hasAudio = f.has_audio?.kind === "int64" ? Number(f.has_audio.value[0]) !== 0 : true;
  const fps = f.fps?.kind === "float" ? Number(f.fps.value[0]) : 25;
  return {
    id,
    video,
    videoShape: [d.N, d.H, d.W, 3],
    audio,
    audioShape: [d.N * d.r, d.Mb],
    mediaMask: Uint8Array.from(ints("media_mask")),
    hasAudio,
    fps,
    text,
    textMask: Uint8Array.from(ints("text_mask")),
    lossMask: Uint8Array.from(ints("loss_mask")),
  };
}

/** The order of epoch `epoch`: a Fisher-Yates shuffle of 0..n-1 from (seed, epoch). */
function epochOrder(n: number, seed: number, epoch: number): Uint32Array {
  const next = seededUniform(Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(epoch + 1, 0x85ebca6b));
  const p = Uint32Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(next() * (i + 1)));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/** step -> a batch of B examples from the `*.tfrecord` shards in `dir` (see the module comment). */
export async function tfrecordBatches(
  dir: string,
  layout: ShardLayout,
  o: { readonly batchSize: number; readonly seed: number },
): Promise<(step: number) => Batch> {
  // Exactly the shards of the folder's last complete write (its manifest), never leftovers beside them.
  const listing = await Effect.runPromise(
    listShards(dir).pipe(Effect.match({
      onFailure: (e) => ({ error: e.reason, shards: [] as readonly string[] }),
      onSuccess: (l) => ({ error: undefined, shards: l.shards }),
    })),
  );
  if (listing.error !== undefined) throw new ShardReadError({ path: dir, reason: listing.error });
  const records: { file: string; bytes: Uint8Array }[] = [];
  for (const path of listing.shards) {
    try {
      for (const bytes of decodeRecords(await Deno.readFile(path))) records.push({ file: path, bytes });
    } catch (e) {
      throw new ShardReadError({ path, reason: (e as Error).message });
    }
  }
  if (records.length === 0) {
    throw new ShardReadError({ path: dir, reason: "it holds no examples in *.tfrecord shards" });
  }
  const n = records.length;
  const first = decodeExample(records[0].bytes);
  const L = (feature(records[0].file, first, "text", "int64").value as ArrayLike<number>).length;
  const { frames: N, height: H, width: W } = layout.video;
  const d: Dims = { N, H, W, r: layout.audio.columnsPerFrame, Mb: layout.audio.melBins, L };
  const orders = new Map<number, Uint32Array>();
  const order = (epoch: number) => {
    let p = orders.get(epoch);
    if (!p) {
      p = epochOrder(n, o.seed, epoch);
      if (orders.size > 4) orders.delete(orders.keys().next().value!);
      orders.set(epoch, p);
    }
    return p;
  };
  return (step) => {
    const examples = Array.from({ length: o.batchSize }, (_, i) => {
      const k = step * o.batchSize + i;
      const r = records[order(Math.floor(k / n))[k % n]];
      return toExample(r.file, decodeExample(r.bytes), d);
    });
    return Effect.runSync(stack(examples, d, o.batchSize, 0));
  };
}
