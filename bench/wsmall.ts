/**
 * The `wsmall` workload (bench/_wsmall_config.ts) eagerly on each tfjs backend: forward, one AdamW
 * train step and 16-token greedy generation; time (median), peak tensor memory, achieved GFLOP/s
 * (matmul FLOPs counted from the config, bench/_flops.ts, over the time) next to the backend's own
 * square matMul GFLOP/s measured in the same run.
 *
 * webgpu (Mesa llvmpipe, software Vulkan, here) cannot read tensors synchronously under Deno
 * (tfjs-backend-webgpu's readSync draws through an OffscreenCanvas that Deno lacks), while
 * `validateBatch` (the id range check), `trainStep` (its metrics) and `generate` (each token) read
 * synchronously. So on webgpu the same kernels run under an alias backend name, which makes
 * `validateBatch` skip its id check, the step is `valueAndGrad(loss)` + the same AdamW update
 * without the metrics read, and generation is reported as not run.
 *
 * Run: deno run -A bench/wsmall.ts [--backends wasm,cpu,webgpu]
 */
import * as tf from "@tensorflow/tfjs-core";
import { exampleBatch, forward, init, loss, type MirasolBatch, type MirasolParams } from "../model/mod.ts";
import { generate } from "../inference/generate.ts";
import { trainStep } from "../train/step.ts";
import { type BackendName, setBackend } from "../transforms/backend.ts";
import { valueAndGrad } from "../transforms/grad.ts";
import { adamw, applyUpdates, type OptState } from "../transforms/optim/mod.ts";
import { PRNGKey } from "../transforms/random.ts";
import { type Tree, treeDispose } from "../transforms/tree.ts";
import { forwardFlops, generateFlops, trainStepFlops } from "./_flops.ts";
import { matmulGflops, profileWork, timeWork, type Work } from "./_measure.ts";
import { markdownTable, mib, ms, sig, type Table } from "./_table.ts";
import { wsmall, WSMALL_BATCH, WSMALL_TEXT } from "./_wsmall_config.ts";

const PROMPT = [1, 17, 42, 99, 7, 2]; // [bos, 4 question ids, sep]: any ids in the vocabulary
const NEW_TOKENS = 16;
const ASYNC_WEBGPU = "webgpu_async";

/** Repetitions per backend: the software ones are slow. */
const REPS: Record<BackendName, { warmup: number; reps: number }> = {
  wasm: { warmup: 1, reps: 3 },
  cpu: { warmup: 1, reps: 1 },
  webgpu: { warmup: 1, reps: 1 },
};

/** The webgpu backend and its kernels under another name (see the header). */
async function useAsyncWebgpu(): Promise<void> {
  await setBackend("webgpu");
  const backend = tf.findBackend("webgpu");
  if (!tf.findBackend(ASYNC_WEBGPU)) {
    tf.registerBackend(ASYNC_WEBGPU, () => backend!, 0);
    for (const k of tf.getKernelsForBackend("webgpu")) tf.registerKernel({ ...k, backendName: ASYNC_WEBGPU });
  }
  await tf.setBackend(ASYNC_WEBGPU);
}

/** An eos id that greedy decoding does not produce within NEW_TOKENS, so every run makes all of them. */
function eosNotGenerated(params: MirasolParams, media: MirasolBatch): number {
  for (let eos = wsmall.text.vocab - 1; eos > 0; eos--) {
    const [g] = generate(params, media, PROMPT, {
      config: wsmall,
      maxLen: NEW_TOKENS,
      strategy: { kind: "greedy" },
      eos,
    });
    if (!g.finished) return eos;
  }
  throw new Error("Cannot pick an eos for the generation benchmark: every id ended a sequence");
}

type Measured = { ms: number; cpuMs: number; peak: number; flops: number } | { skipped: string };
type MatmulSpeed = Awaited<ReturnType<typeof matmulGflops>>;
type BackendResult = {
  backend: BackendName;
  mm512: MatmulSpeed;
  mm1024: MatmulSpeed;
  forward: Measured;
  step: Measured;
  generate: Measured;
};

async function runBackend(
  name: BackendName,
  eos: number | undefined,
): Promise<{ result: BackendResult; eos?: number }> {
  if (name === "webgpu") await useAsyncWebgpu();
  else await setBackend(name);
  const reps = REPS[name];
  const mm512 = await matmulGflops(512, reps);
  const mm1024 = await matmulGflops(1024, { warmup: 1, reps: 1 });
  const params = init(PRNGKey(0), wsmall);
  const batch = exampleBatch(PRNGKey(1), wsmall, { batch: WSMALL_BATCH, textLength: WSMALL_TEXT });
  const optimizer = adamw({ learningRate: 1e-3, weightDecay: 1e-4 });
  const optState = optimizer.init(params as unknown as Tree<tf.Tensor>);
  const measure = async (work: Work, flops: number): Promise<Measured> => {
    const t = await timeWork(work, reps);
    const prof = await profileWork(work);
    return { ms: t.medianMs, cpuMs: t.cpuMedianMs, peak: prof.peakBytes, flops };
  };
  const fwd = () => {
    const out = forward(params, batch, { config: wsmall, train: false });
    return [out.logits, out.u, out.x, out.h, out.reconstruction.video];
  };
  const step: Work = name === "webgpu" ? () => asyncStep(params, optState, batch, optimizer) : () => {
    const r = trainStep(params, optState, batch, PRNGKey(2), { config: wsmall, optimizer });
    return [r.params as unknown as tf.Tensor[], r.optState as unknown as tf.Tensor[]] as tf.TensorContainer;
  };
  const result: BackendResult = {
    backend: name,
    mm512,
    mm1024,
    forward: await measure(fwd, forwardFlops(wsmall, WSMALL_BATCH, WSMALL_TEXT).total),
    step: await measure(step, trainStepFlops(wsmall, WSMALL_BATCH, WSMALL_TEXT)),
    generate: { skipped: "synchronous reads" },
  };
  let chosen = eos;
  if (name !== "webgpu") {
    chosen ??= eosNotGenerated(params, batch);
    const media = { video: batch.video, audio: batch.audio };
    const gen = () => {
      generate(params, media, PROMPT, {
        config: wsmall,
        maxLen: NEW_TOKENS,
        strategy: { kind: "greedy" },
        eos: chosen!,
      });
      return [];
    };
    result.generate = await measure(gen, generateFlops(wsmall, WSMALL_BATCH, PROMPT.length, NEW_TOKENS));
  }
  treeDispose(params as unknown as Tree<tf.Tensor>);
  treeDispose(optState);
  tf.dispose(Object.values(batch));
  return { result, eos: chosen };
}

/** valueAndGrad(loss) and the AdamW update, no synchronous metrics read (webgpu under Deno). */
function asyncStep(
  params: MirasolParams,
  optState: OptState,
  batch: MirasolBatch,
  optimizer: ReturnType<typeof adamw>,
): tf.TensorContainer {
  const { value, grads } = valueAndGrad((p: MirasolParams) =>
    loss(p, batch, { config: wsmall, train: true, key: PRNGKey(2) }).total
  )(params);
  const update = optimizer.update(
    grads as unknown as Tree<tf.Tensor>,
    optState,
    params as unknown as Tree<tf.Tensor>,
  );
  const next = applyUpdates(params as unknown as Tree<tf.Tensor>, update.updates);
  treeDispose(grads as unknown as Tree<tf.Tensor>);
  treeDispose(update.updates);
  return [
    value,
    next as unknown as tf.Tensor[],
    update.state as unknown as tf.Tensor[],
  ] as tf.TensorContainer;
}

export async function wsmallTables(backends: readonly BackendName[]): Promise<Table[]> {
  const results: BackendResult[] = [];
  let eos: number | undefined;
  for (const b of backends) {
    const r = await runBackend(b, eos);
    eos = r.eos;
    results.push(r.result);
    console.error(`wsmall: ${JSON.stringify(r.result)}`); // progress on a slow machine
  }
  const label = (
    b: BackendName,
  ) => (b === "wasm" ? "wasm (1 thread)" : b === "webgpu" ? "webgpu (llvmpipe)" : b);
  const rows = results.flatMap((r) =>
    ([["forward", r.forward], ["train step", r.step], [`generate ${NEW_TOKENS}`, r.generate]] as const).map((
      [work, m],
    ) => [
      label(r.backend),
      work,
      ...("skipped" in m ? ["-", "-", "-", "-", "-", "-"] : [
        ms(m.ms),
        ms(m.cpuMs),
        mib(m.peak),
        sig(m.flops / 1e9),
        sig(m.flops / (m.ms * 1e6)),
        sig(m.flops / (m.cpuMs * 1e6)),
      ]),
      `${sig(r.mm512.gflops)} / ${sig(r.mm512.cpuGflops)}`,
      `${sig(r.mm1024.gflops)} / ${sig(r.mm1024.cpuGflops)}`,
    ])
  );
  const load = Deno.loadavg()[0];
  return [{
    title:
      `wsmall (batch ${WSMALL_BATCH}, 32 frames 64x64 in 4 chunks, D 256, 2 layers/stack, m 8, text ${WSMALL_TEXT}, V 256), eager`,
    header: [
      "backend",
      "work",
      "wall ms",
      "CPU ms",
      "peak MiB",
      "GFLOP",
      "GFLOP/s wall",
      "GFLOP/s CPU",
      "matMul 512 GFLOP/s wall / CPU",
      "matMul 1024 wall / CPU",
    ],
    rows,
    align: ["left", "left", "right", "right", "right", "right", "right", "right", "right", "right"],
    notes: [
      `GFLOP: matmul FLOPs counted from the config (bench/_flops.ts): train step = 3x forward; generate = media once + cached decoder (prompt ${PROMPT.length}, ${NEW_TOKENS} new tokens).`,
      "Median of 3 runs after 1 warm-up on wasm, 1 run after 1 warm-up on cpu/webgpu. CPU ms: process CPU time (for the single-threaded",
      "wasm and cpu backends, the wall time on an idle core; for webgpu it sums llvmpipe's threads). peak MiB: live tensor bytes above the baseline (tf.profile).",
      "Train step: train/step.ts trainStep with AdamW (wasm, cpu); on webgpu valueAndGrad(loss) + the same AdamW without the synchronous metrics read.",
      "webgpu generate: not run (inference/generate.ts reads each token with dataSync, which tfjs-backend-webgpu cannot do under Deno).",
      `1-minute load average at the end: ${load.toFixed(1)} on ${navigator.hardwareConcurrency} cores.`,
    ],
  }];
}

if (import.meta.main) {
  const arg = Deno.args.indexOf("--backends");
  const backends = (arg >= 0 ? Deno.args[arg + 1].split(",") : ["wasm", "cpu", "webgpu"]) as BackendName[];
  for (const t of await wsmallTables(backends)) console.log(`${markdownTable(t)}\n`);
}
