/**
 * Combiner cost vs chunk count (issue 10 §4; paper §3.2 and Tab. 5c: the TTM Combiner uses about
 * 30% less memory and 18% less time than the causal Transformer one).
 *
 * Both Combiners have wsmall's width (D 256, 4 heads of 64, MLP 1024), R = 2 layers and m = 8
 * outputs; the TTM adds `combinerOfKind`'s memory of 64 tokens and 16 processed tokens. Input: u
 * [B=1, T, n=45, D] (wsmall's 41 video + 4 audio tokens per chunk, K = 8 frames), T = 2..32.
 *   fwd+bwd: valueAndGrad over the Combiner's params of mean(x^2), the Combiner ALONE on u (the
 *            encoders and heads cost the same for both kinds and would hide the difference);
 *   peak:    tensor bytes live at the worst kernel of that fwd+bwd, above what was live before;
 *   stream:  latency of chunk 1 and of chunk T with `combiner.step`
 *            (causal: per-layer key/value cache; TTM: its memory only), and for the causal
 *            Combiner without a cache, re-running `combiner.apply` on chunks 1..t.
 * Run: deno run -A bench/combiner_cost.ts [--chunks 2,4,8] (wasm, 1 thread).
 */
import * as tf from "@tensorflow/tfjs-core";
import {
  combiner,
  type CombinerKind,
  combinerOfKind,
  type MirasolConfig,
  withCombiner,
  withFrames,
} from "../model/mod.ts";
import { setBackend } from "../transforms/backend.ts";
import { valueAndGrad } from "../transforms/grad.ts";
import { foldIn, normalValues, PRNGKey } from "../transforms/random.ts";
import { type Tree, treeDispose, treeLeaves } from "../transforms/tree.ts";
import { combinerFlops } from "./_flops.ts";
import { profileWork, timeWork } from "./_measure.ts";
import { markdownTable, mib, ms, relChange, sig, type Table } from "./_table.ts";
import { wsmall } from "./_wsmall_config.ts";
import { audioTokensPerChunk, videoTokensPerChunk } from "../model/config.ts";

const KINDS = ["causal_transformer", "ttm"] as const satisfies readonly CombinerKind[];
const BATCH = 1;

export function combinerConfig(kind: CombinerKind, chunks: number): MirasolConfig {
  const K = wsmall.video.frames / wsmall.video.chunks;
  return withCombiner(
    withFrames(wsmall, chunks * K, chunks),
    combinerOfKind(kind, { layers: 2, outTokens: 8 }),
  );
}

type Row = {
  T: number;
  kind: CombinerKind;
  ms: number;
  wallMs: number;
  peak: number;
  /** wasm heap high-water of fwd+bwd in a fresh process, bytes above what the process had before */
  heap: number;
  flops: number;
  first: number;
  last: number;
  rerunFirst?: number;
  rerunLast?: number;
};

/** Fewer repetitions where one run takes seconds. */
const repsFor = (T: number) => (T >= 32 ? { warmup: 1, reps: 1 } : { warmup: 1, reps: 5 });

async function measure(kind: CombinerKind, T: number): Promise<Row> {
  const c = combinerConfig(kind, T);
  const n = videoTokensPerChunk(c) + audioTokensPerChunk(c), D = c.width.dim;
  const p = combiner.init(PRNGKey(0), c);
  const u = tf.tensor(normalValues(foldIn(PRNGKey(1), T), BATCH * T * n * D), [
    BATCH,
    T,
    n,
    D,
  ]) as tf.Tensor4D;
  const lossOf = valueAndGrad((q: combiner.CombinerParams) =>
    tf.mean(tf.square(combiner.apply(q, u, { config: c, train: false }))) as tf.Scalar
  );
  const fwdBwd = () => {
    const { value, grads } = lossOf(p);
    return [value, grads as unknown as tf.Tensor[]] as tf.TensorContainer;
  };
  const time = await timeWork(fwdBwd, repsFor(T));
  const prof = await profileWork(fwdBwd);
  // Streaming: the state after chunks 1..t-1 is built untimed, then chunk t is timed.
  const chunk = (t: number) =>
    tf.reshape(tf.slice(u, [0, t, 0, 0], [BATCH, 1, n, D]), [BATCH, n, D]) as tf.Tensor3D;
  const stepLatency = async (t: number) => {
    let state = combiner.initState(p, c, BATCH);
    const held: tf.Tensor[] = [];
    for (let i = 0; i < t; i++) {
      const ui = chunk(i);
      const out = combiner.step(p, state, ui, i);
      tf.dispose([ui, out.x]);
      state = out.state;
      held.push(...stateTensors(state));
    }
    const ut = chunk(t);
    const r = await timeWork(() => {
      const out = combiner.step(p, state, ut, t);
      return [out.x, newTensors(out.state, held)];
    }, { warmup: 1, reps: 3 });
    tf.dispose([ut, ...held]);
    return r.cpuMedianMs;
  };
  const rerun = async (t: number) => {
    const prefix = tf.slice(u, [0, 0, 0, 0], [BATCH, t + 1, n, D]);
    const r = await timeWork(
      () => combiner.apply(p, prefix, { config: combinerConfig(kind, t + 1), train: false }),
      { warmup: 1, reps: T >= 16 ? 1 : 3 },
    );
    prefix.dispose();
    return r.cpuMedianMs;
  };
  const row: Row = {
    T,
    kind,
    ms: time.cpuMedianMs,
    wallMs: time.medianMs,
    peak: prof.peakBytes,
    heap: await heapHighWater(kind, T),
    flops: 3 * combinerFlops(c, BATCH, T, n),
    first: await stepLatency(0),
    last: await stepLatency(T - 1),
    ...(kind === "causal_transformer" ? { rerunFirst: await rerun(0), rerunLast: await rerun(T - 1) } : {}),
  };
  u.dispose();
  treeDispose(p as unknown as Tree<tf.Tensor>);
  return row;
}

/** Every tensor a Combiner stream state holds. */
function stateTensors(s: combiner.CombinerState): tf.Tensor[] {
  switch (s.kind) {
    case "ttm":
      return [s.state.memory];
    case "causal_transformer":
    case "cls":
      return (s.state.self ?? []).flatMap((kv) => [kv.k, kv.v]);
    case "perceiver":
      return [...(s.state.self ?? []), ...(s.state.cross ?? [])].flatMap((kv) => [kv.k, kv.v]);
    case "none":
      return [];
  }
}
const newTensors = (s: combiner.CombinerState, held: readonly tf.Tensor[]) =>
  stateTensors(s).filter((t) => !held.includes(t));

export async function combinerCostTables(chunks: readonly number[]): Promise<Table[]> {
  const rows: Row[] = [];
  for (const T of chunks) {
    for (const kind of KINDS) {
      rows.push(await measure(kind, T));
      console.error(`combiner_cost: ${JSON.stringify(rows[rows.length - 1])}`); // progress on a slow machine
    }
  }
  const get = (T: number, kind: CombinerKind) => rows.find((r) => r.T === T && r.kind === kind)!;
  const n = videoTokensPerChunk(wsmall) + audioTokensPerChunk(wsmall);
  const cost: Table = {
    title:
      `Combiner fwd+bwd vs chunk count (wasm, 1 thread; B=${BATCH}, n=${n} tokens/chunk, D=256, R=2, m=8)`,
    header: [
      "T",
      "tokens",
      "causal ms",
      "TTM ms",
      "TTM time",
      "causal wall ms",
      "TTM wall ms",
      "causal heap MiB",
      "TTM heap MiB",
      "TTM memory",
      "causal tensor MiB",
      "TTM tensor MiB",
      "causal GFLOP",
      "TTM GFLOP",
    ],
    rows: chunks.map((T) => {
      const a = get(T, "causal_transformer"), b = get(T, "ttm");
      return [
        String(T),
        String(T * n),
        ms(a.ms),
        ms(b.ms),
        relChange(b.ms, a.ms),
        ms(a.wallMs),
        ms(b.wallMs),
        mib(a.heap),
        mib(b.heap),
        relChange(b.heap, a.heap),
        mib(a.peak),
        mib(b.peak),
        sig(a.flops / 1e9),
        sig(b.flops / 1e9),
      ];
    }),
    notes: [
      "valueAndGrad of mean(x^2) over the Combiner's params, the Combiner alone on u [B, T, n, D]; median of 5 after a warm-up (1 for T >= 32).",
      "ms: process CPU time (single-threaded wasm: the wall time on an idle core); wall ms: as measured on this shared machine.",
      "heap MiB: what the wasm heap grew by over two fwd+bwd in a fresh process (its high-water mark: the memory really used); TTM memory compares these.",
      "tensor MiB: tf.profile's peak live tensor bytes, which counts a buffer again for each tensor sharing it (reshapes, the tape's saved clones).",
      "GFLOP: matmul FLOPs of fwd+bwd (3x forward, bench/_flops.ts).",
    ],
  };
  const stream: Table = {
    title: "Combiner streaming latency, one chunk (wasm, 1 thread; eval mode)",
    header: [
      "T",
      "causal KV-cache chunk 1 ms",
      "chunk T ms",
      "causal re-run chunk 1 ms",
      "chunk T ms",
      "TTM chunk 1 ms",
      "chunk T ms",
    ],
    rows: chunks.map((T) => {
      const a = get(T, "causal_transformer"), b = get(T, "ttm");
      return [
        String(T),
        ms(a.first),
        ms(a.last),
        ms(a.rerunFirst!),
        ms(a.rerunLast!),
        ms(b.first),
        ms(b.last),
      ];
    }),
    notes: [
      "combiner.step on chunk t after chunks 1..t-1 (state built untimed); CPU-time median of 3.",
      "re-run: combiner.apply on chunks 1..t, what a causal Combiner without a cache must do per new chunk.",
    ],
  };
  return [cost, stream];
}

/**
 * The bytes fwd+bwd really occupies: the wasm heap grows to its high-water mark and never shrinks, so
 * a fresh process reads it after. tf.profile's bytes count each tensor, and tensors that share one
 * buffer (reshapes, the saved clones of the gradient tape) count again for each.
 */
async function heapHighWater(kind: CombinerKind, T: number): Promise<number> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", new URL(import.meta.url).pathname, "--heap-of", kind, String(T)],
    stdout: "piped",
    stderr: "inherit",
  }).output();
  if (!out.success) throw new Error(`combiner_cost: the heap child for ${kind} T=${T} failed`);
  return Number(new TextDecoder().decode(out.stdout).trim().split("\n").pop());
}

/** In the child: heap bytes added by two fwd+bwd of the Combiner on u, after params and u exist. */
async function heapOf(kind: CombinerKind, T: number): Promise<number> {
  const c = combinerConfig(kind, T);
  const n = videoTokensPerChunk(c) + audioTokensPerChunk(c), D = c.width.dim;
  const p = combiner.init(PRNGKey(0), c);
  const u = tf.tensor(normalValues(foldIn(PRNGKey(1), T), BATCH * T * n * D), [BATCH, T, n, D]);
  const lossOf = valueAndGrad((q: combiner.CombinerParams) =>
    tf.mean(tf.square(combiner.apply(q, u, { config: c, train: false }))) as tf.Scalar
  );
  const heap = () => (tf.backend() as unknown as { wasm: { HEAPU8: Uint8Array } }).wasm.HEAPU8.length;
  const before = heap();
  for (let i = 0; i < 2; i++) {
    const { value, grads } = lossOf(p);
    await value.data();
    tf.dispose([value, ...treeLeaves(grads as unknown as Tree<tf.Tensor>)]);
  }
  return heap() - before;
}

if (import.meta.main && Deno.args[0] === "--heap-of") {
  await setBackend("wasm");
  console.log(await heapOf(Deno.args[1] as CombinerKind, Number(Deno.args[2])));
} else if (import.meta.main) {
  const arg = Deno.args.indexOf("--chunks");
  const chunks = arg >= 0 ? Deno.args[arg + 1].split(",").map(Number) : [2, 4, 8, 16, 32];
  await setBackend("wasm");
  for (const t of await combinerCostTables(chunks)) console.log(`${markdownTable(t)}\n`);
}
