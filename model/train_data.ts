/**
 * Batch sources for `train` that need no decoding at training time, each a pure function of the
 * step (so a resumed run sees the same batches as an uninterrupted one):
 *
 * - `syntheticBatches`: seeded random clips whose caption is learnable from the media: each clip has
 *   a class c; the video is a colour wave with phase c, the audio a tone in mel bin c, and the text
 *   `BOS, c, c+1, ...` (ids offset by 2). The first caption token needs the video or audio, the rest
 *   follow from the text, so the text loss can fall from ln V towards 0. For smoke tests, demos and
 *   the CLI's `--data synthetic`, never for results.
 * - `tfrecordBatches`: the shards data/tfrecords.ts writes (float video), reshuffled each epoch.
 *
 * Letters: B batch, N frames, H/W frame size, r columns per frame, Mb mel bins, L text, C classes.
 */
import { decodeExample, decodeRecords, type Feature } from "../formats/tfrecord.ts";
import type { HostBatch } from "./batch_tensors.ts";

/** What these sources give: host arrays with every field, ids and media mask included. */
type Batch = Required<HostBatch>;
import { foldIn, type Key, normalValues, PRNGKey, uniformValues } from "../transforms/random.ts";
import type { MirasolConfig } from "./config.ts";
import type { MirasolBatch } from "./inputs.ts";

const utf8 = new TextDecoder();

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

function syntheticExample(key: Key, c: MirasolConfig, L: number) {
  const { frames: N, height: H, width: W } = c.video;
  const { columnsPerFrame: r, melBins: Mb } = c.audio;
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
  return { video, audio, text };
}

/** step -> a seeded batch of synthetic clips (see the module comment). */
export function syntheticBatches(config: MirasolConfig, o: SyntheticOptions): (step: number) => Batch {
  const B = o.batchSize, L = o.textLength ?? Math.min(8, config.text.maxLength);
  const { frames: N, height: H, width: W } = config.video;
  const { columnsPerFrame: r, melBins: Mb } = config.audio;
  if (o.pool !== undefined && !(Number.isInteger(o.pool) && o.pool >= 1)) {
    throw new TrainDataError(`Cannot make synthetic data: pool must be a positive integer, got ${o.pool}`);
  }
  const root = PRNGKey(o.seed);
  return (step) => {
    const ids = Array.from({ length: B }, (_, i) => (o.pool ? (step * B + i) % o.pool : step * B + i));
    const examples = ids.map((id) => syntheticExample(foldIn(root, id), config, L));
    return stackBatch(ids.map((id) => `synthetic-${o.seed}-${id}`), examples, { N, H, W, F: N * r, Mb, L });
  };
}

type Dims = { N: number; H: number; W: number; F: number; Mb: number; L: number };
type Arrays = {
  video: Float32Array;
  audio: Float32Array;
  text: Int32Array;
  textMask?: ArrayLike<number>;
  lossMask?: ArrayLike<number>;
  mediaMask?: ArrayLike<number>;
};

function stackBatch(ids: string[], ex: Arrays[], d: Dims): Batch {
  const B = ex.length, frame = d.N * d.H * d.W * 3, spec = d.F * d.Mb;
  const b = {
    video: new Float32Array(B * frame),
    audio: new Float32Array(B * spec),
    mediaMask: new Uint8Array(B * d.N),
    text: new Int32Array(B * d.L),
    textMask: new Uint8Array(B * d.L),
    lossMask: new Uint8Array(B * d.L),
  };
  ex.forEach((e, i) => {
    b.video.set(e.video, i * frame);
    b.audio.set(e.audio, i * spec);
    b.mediaMask.set(e.mediaMask ?? new Uint8Array(d.N).fill(1), i * d.N);
    b.text.set(e.text, i * d.L);
    b.textMask.set(e.textMask ?? new Uint8Array(d.L).fill(1), i * d.L);
    b.lossMask.set(e.lossMask ?? new Uint8Array(d.L).fill(1), i * d.L);
  });
  return {
    ids,
    ...b,
    videoShape: [B, d.N, d.H, d.W, 3],
    audioShape: [B, d.F, d.Mb],
    textShape: [B, d.L],
  };
}

function feature(file: string, f: Record<string, Feature>, name: string, kind: Feature["kind"]): Feature {
  const v = f[name];
  if (!v || v.kind !== kind) {
    const hint = name === "video" && f["video/encoded"]
      ? ' (PNG-encoded video is not supported here: write shards with video: "float")'
      : "";
    throw new TrainDataError(`Cannot read example in '${file}': no ${kind} feature '${name}'${hint}`);
  }
  return v;
}

function exampleArrays(file: string, f: Record<string, Feature>, d: Dims): Arrays {
  const video = Float32Array.from(feature(file, f, "video", "float").value as ArrayLike<number>);
  const audio = Float32Array.from(feature(file, f, "audio", "float").value as ArrayLike<number>);
  const ints = (name: string) =>
    Array.from(feature(file, f, name, "int64").value as ArrayLike<number>, Number);
  const text = Int32Array.from(ints("text"));
  const sizes = {
    video: [video.length, d.N * d.H * d.W * 3],
    audio: [audio.length, d.F * d.Mb],
    text: [text.length, d.L],
  };
  for (const [name, [got, want]] of Object.entries(sizes)) {
    if (got !== want) {
      throw new TrainDataError(
        `Cannot read example in '${file}': ${name} has ${got} values, the config needs ${want} (N=${d.N}, ${d.H}x${d.W}, F=${d.F}, Mb=${d.Mb}, L=${d.L})`,
      );
    }
  }
  return {
    video,
    audio,
    text,
    textMask: ints("text_mask"),
    lossMask: ints("loss_mask"),
    mediaMask: ints("media_mask"),
  };
}

/**
 * step -> a batch from the `*.tfrecord` shards in `dir` (records kept in memory, decoded per
 * batch). Each epoch visits every example once in a seeded order; the last partial batch of an
 * epoch is filled from the next epoch, so every batch has B rows.
 */
export async function tfrecordBatches(
  dir: string,
  config: MirasolConfig,
  o: { readonly batchSize: number; readonly seed: number },
): Promise<(step: number) => Batch> {
  const files: string[] = [];
  for await (const e of Deno.readDir(dir)) if (e.isFile && e.name.endsWith(".tfrecord")) files.push(e.name);
  files.sort();
  const records: { file: string; bytes: Uint8Array }[] = [];
  for (const name of files) {
    const path = `${dir}/${name}`;
    try {
      for (const bytes of decodeRecords(await Deno.readFile(path))) records.push({ file: path, bytes });
    } catch (e) {
      throw new TrainDataError(`Cannot read TFRecord shard '${path}': ${(e as Error).message}`);
    }
  }
  if (records.length === 0) {
    throw new TrainDataError(`Cannot train on '${dir}': it holds no examples in *.tfrecord shards`);
  }
  const n = records.length;
  const first = decodeExample(records[0].bytes);
  const textLength = (feature(records[0].file, first, "text", "int64").value as ArrayLike<number>).length;
  const { frames: N, height: H, width: W } = config.video;
  const d: Dims = { N, H, W, F: N * config.audio.columnsPerFrame, Mb: config.audio.melBins, L: textLength };
  const orders = new Map<number, Uint32Array>();
  const order = (epoch: number) => { // seeded Fisher-Yates per epoch
    let p = orders.get(epoch);
    if (!p) {
      p = Uint32Array.from({ length: n }, (_, i) => i);
      const u = uniformValues(foldIn(PRNGKey(o.seed), epoch), n);
      for (let i = n - 1; i > 0; i--) {
        const j = Math.min(i, Math.floor(u[i] * (i + 1)));
        [p[i], p[j]] = [p[j], p[i]];
      }
      if (orders.size > 4) orders.delete(orders.keys().next().value!);
      orders.set(epoch, p);
    }
    return p;
  };
  return (step) => {
    const picks = Array.from({ length: o.batchSize }, (_, i) => {
      const k = step * o.batchSize + i;
      return records[order(Math.floor(k / n))[k % n]];
    });
    const decoded = picks.map((r) => ({ file: r.file, f: decodeExample(r.bytes) }));
    const ids = decoded.map(({ f }) => f.id?.kind === "bytes" ? utf8.decode(f.id.value[0]) : "");
    return stackBatch(ids, decoded.map(({ file, f }) => exampleArrays(file, f, d)), d);
  };
}

/**
 * Where batches come from: a function of the step (0-based; called once per step, in order), or an
 * (async) iterable. Either may give data/ `Batch`es (typed arrays) or model tensors; the loop owns
 * and disposes the tensors it is given.
 */
export type BatchSource =
  | ((step: number) => HostBatch | MirasolBatch | Promise<HostBatch | MirasolBatch>)
  | AsyncIterable<HostBatch | MirasolBatch>
  | Iterable<HostBatch | MirasolBatch>;

/** Pulls the batch of each step, in order, from any BatchSource. */
export function batchReader(
  data: BatchSource,
): { next(step: number): Promise<HostBatch | MirasolBatch | undefined>; close(): Promise<void> } {
  if (typeof data === "function") return { next: async (step) => await data(step), close: async () => {} };
  const it = Symbol.asyncIterator in data
    ? (data as AsyncIterable<HostBatch | MirasolBatch>)[Symbol.asyncIterator]()
    : (data as Iterable<HostBatch | MirasolBatch>)[Symbol.iterator]();
  return {
    next: async () => {
      const r = await it.next();
      return r.done ? undefined : r.value;
    },
    close: async () => void (await it.return?.()),
  };
}
