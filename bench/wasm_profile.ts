/**
 * Where a wsmall train step spends its time on wasm (tf.profile per-kernel times), with
 * tfjs-backend-wasm's BatchMatMul as shipped and with the fast path of transforms/wasm_matmul.ts
 * (what `setBackend("wasm")` installs): before/after time, kernel table, and a check that the step
 * computes the same thing (metrics and updated params).
 *
 * Run: deno run -A bench/wasm_profile.ts
 */
import * as tf from "@tensorflow/tfjs-core";
import { exampleBatch, init, type MirasolParams } from "../model/mod.ts";
import { trainStep, type TrainStepResult } from "../train/step.ts";
import { setBackend } from "../transforms/backend.ts";
import { adamw } from "../transforms/optim/mod.ts";
import { PRNGKey } from "../transforms/random.ts";
import { type Tree, treeDispose, treeLeaves } from "../transforms/tree.ts";
import { profiledMatmulFlops, trainStepFlops } from "./_flops.ts";
import { kernelStats, profileWork, timeWork } from "./_measure.ts";
import { markdownTable, mib, ms, relChange, sig, type Table } from "./_table.ts";
import { installFastWasmMatMul, useShippedWasmMatMul } from "./_wasm_matmul.ts";
import { wsmall, WSMALL_BATCH, WSMALL_TEXT } from "./_wsmall_config.ts";

const TOP = 12;

export async function wasmProfileTables(): Promise<Table[]> {
  await setBackend("wasm");
  const params = init(PRNGKey(0), wsmall);
  const batch = exampleBatch(PRNGKey(1), wsmall, { batch: WSMALL_BATCH, textLength: WSMALL_TEXT });
  const optimizer = adamw({ learningRate: 1e-3, weightDecay: 1e-4 });
  const optState = optimizer.init(params as unknown as Tree<tf.Tensor>);
  const step = () => trainStep(params, optState, batch, PRNGKey(2), { config: wsmall, optimizer });
  const asWork = () => {
    const r = step();
    return [r.params as unknown as tf.Tensor[], r.optState as unknown as tf.Tensor[]] as tf.TensorContainer;
  };
  const measure = async () => {
    const time = await timeWork(asWork, { warmup: 1, reps: 3 });
    const prof = await profileWork(asWork);
    return { time, prof, stats: kernelStats(prof.kernels) };
  };
  const keepOne = (r: TrainStepResult<MirasolParams>) => {
    const flat = treeLeaves(r.params as unknown as Tree<tf.Tensor>).map((t) => tf.reshape(t, [-1]));
    const all = tf.concat(flat);
    tf.dispose(flat);
    treeDispose(r.params as unknown as Tree<tf.Tensor>);
    treeDispose(r.optState);
    return { params: all, metrics: r.metrics };
  };
  const restore = useShippedWasmMatMul();
  let before, ref, after, got;
  try {
    before = await measure();
    ref = keepOne(step());
    installFastWasmMatMul();
    after = await measure();
    got = keepOne(step());
  } finally {
    restore();
  }
  const paramDiff = tf.tidy(() => tf.max(tf.abs(tf.sub(ref.params, got.params))).dataSync()[0]);
  tf.dispose([ref.params, got.params]);
  treeDispose(params as unknown as Tree<tf.Tensor>);
  treeDispose(optState);
  tf.dispose(Object.values(batch));

  const total = (s: typeof before.stats) => s.reduce((a, k) => a + k.ms, 0);
  const tb = total(before.stats), ta = total(after.stats);
  const afterBy = new Map(after.stats.map((k) => [k.name, k]));
  const kernels: Table = {
    title: "wasm: kernels of one wsmall train step (tf.profile), shipped BatchMatMul vs the fast path",
    header: ["kernel", "calls", "ms", "share", "fast-path calls", "ms", "share"],
    rows: before.stats.slice(0, TOP).map((k) => {
      const a = afterBy.get(k.name);
      return [
        k.name,
        String(k.calls),
        ms(k.ms),
        `${((100 * k.ms) / tb).toFixed(0)}%`,
        String(a?.calls ?? 0),
        ms(a?.ms ?? 0),
        `${((100 * (a?.ms ?? 0)) / ta).toFixed(0)}%`,
      ];
    }),
    notes: [
      `Sum over all ${before.prof.kernels.length} kernels: ${ms(tb)} ms shipped, ${
        ms(ta)
      } ms fast path (per-kernel wall time inside tf.profile).`,
      `Matmul FLOPs the profile ran: ${
        sig(profiledMatmulFlops(before.prof.kernels) / 1e9)
      } G (config count, 3x forward: ${sig(trainStepFlops(wsmall, 2, 32) / 1e9)} G).`,
    ],
  };
  const gf = (t: number) => sig(trainStepFlops(wsmall, 2, 32) / (t * 1e6));
  const summary: Table = {
    title: "wasm: wsmall train step (AdamW), before/after the BatchMatMul fast path",
    header: ["kernel", "CPU ms", "wall ms", "GFLOP/s (CPU)", "peak MiB", "loss", "grad norm"],
    rows: [
      [
        "tfjs-backend-wasm 4.22 as shipped",
        ms(before.time.cpuMedianMs),
        ms(before.time.medianMs),
        gf(before.time.cpuMedianMs),
        mib(before.prof.peakBytes),
        sig(ref.metrics.total, 6),
        sig(ref.metrics.gradNorm, 6),
      ],
      [
        "fast path (transforms/wasm_matmul.ts)",
        ms(after.time.cpuMedianMs),
        ms(after.time.medianMs),
        gf(after.time.cpuMedianMs),
        mib(after.prof.peakBytes),
        sig(got.metrics.total, 6),
        sig(got.metrics.gradNorm, 6),
      ],
    ],
    notes: [
      `Change: ${
        relChange(after.time.cpuMedianMs, before.time.cpuMedianMs)
      } CPU time. Same step: max |param difference| after the update ${sig(paramDiff, 2)}.`,
      "CPU-time median of 3 after a warm-up (process CPU time: the wall time on an idle core for single-threaded wasm).",
    ],
  };
  return [summary, kernels];
}

if (import.meta.main) {
  for (const t of await wasmProfileTables()) console.log(`${markdownTable(t)}\n`);
}
