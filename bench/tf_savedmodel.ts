/**
 * The wsmall train step as an exported SavedModel in TensorFlow (issue 10 §4): exportSavedModel
 * (variables mode, the `loss` signature at batch 2 x text 32), then one Python process per setting
 * (1 or 2 intra-op threads via tf.config.threading, XLA off or on) runs the project's TensorFlow
 * step, export/tf/mirasol_tf.py `make_train_step` (Adam on every variable; jit_compile compiles
 * loss + gradients with XLA), on a random batch of the workload's shapes.
 *
 * Differences from the eager wasm step: the exported `loss` signature runs with train = false (no
 * Combiner-output masking: a static graph cannot draw host keys), and the update is Adam without
 * decoupled weight decay; both are O(params) or O(m) work next to the matmuls.
 *
 * Run: deno run -A bench/tf_savedmodel.ts
 */
import { Effect } from "effect";
import * as tf from "@tensorflow/tfjs-core";
import { exportSavedModel } from "../export/savedmodel/export.ts";
import { mirasolSignatures } from "../export/savedmodel/mirasol.ts";
import { init } from "../model/mod.ts";
import { setBackend } from "../transforms/backend.ts";
import { PRNGKey } from "../transforms/random.ts";
import { type Tree, treeDispose } from "../transforms/tree.ts";
import { trainStepFlops } from "./_flops.ts";
import { markdownTable, ms, sig, type Table } from "./_table.ts";
import { wsmall, WSMALL_BATCH, WSMALL_TEXT } from "./_wsmall_config.ts";

export const PYTHON = new URL("../.venv/bin/python", import.meta.url).pathname;
export const DRIVER_DIR = new URL("../export/tf/", import.meta.url).pathname;

/** Times `reps` train steps after `warmup` (the first call traces, and with XLA compiles). */
export const STEP_PY = `
import json, sys, time
threads, xla, export_dir, reps = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], int(sys.argv[4])
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
sys.path.insert(0, sys.argv[5])
import mirasol_tf as mt
model = mt.load_model(export_dir)
spec = mt.input_specs(model.module.loss)
g = tf.random.Generator.from_seed(1)
batch = {}
for name, s in spec.items():
    if s.dtype == tf.int32:
        batch[name] = g.uniform(s.shape, 0, 256, dtype=tf.int32)
    elif name.endswith("mask"):
        batch[name] = tf.ones(s.shape, s.dtype)
    else:
        batch[name] = g.uniform(s.shape, dtype=s.dtype)
step = mt.make_train_step(model, lambda b: model.call("loss", b)["total"], lr=1e-3, jit_compile=xla)
t0 = time.perf_counter(); float(step(batch)); first = time.perf_counter() - t0
float(step(batch))
wall, cpu = [], []
for _ in range(reps):
    w0, c0 = time.perf_counter(), time.process_time()
    loss = float(step(batch))
    wall.append(time.perf_counter() - w0); cpu.append(time.process_time() - c0)
med = lambda xs: sorted(xs)[len(xs) // 2]
print(json.dumps({"first_s": first, "wall_ms": 1000 * med(wall), "cpu_ms": 1000 * med(cpu), "loss": loss}))
`;

type TfRun =
  | { threads: number; xla: boolean; first_s: number; wall_ms: number; cpu_ms: number; loss: number }
  | { threads: number; xla: boolean; error: string };

async function runTf(exportDir: string, threads: number, xla: boolean, reps: number): Promise<TfRun> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", STEP_PY, String(threads), xla ? "1" : "0", exportDir, String(reps), DRIVER_DIR],
    env: { TF_CPP_MIN_LOG_LEVEL: "2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  if (!out.success) {
    return {
      threads,
      xla,
      error: new TextDecoder().decode(out.stderr).trim().split("\n").slice(-1)[0] ?? `exit ${out.code}`,
    };
  }
  return { threads, xla, ...JSON.parse(text) };
}

export async function tfSavedModelTables(reps = 5): Promise<Table[]> {
  await setBackend("wasm");
  const work = await Deno.makeTempDir({ prefix: "mirasol_bench_tf_" });
  try {
    const params = init(PRNGKey(0), wsmall);
    const shapes = { batch: WSMALL_BATCH, textLength: WSMALL_TEXT };
    const t0 = performance.now();
    const { loss } = mirasolSignatures(wsmall, shapes);
    const report = await Effect.runPromise(
      exportSavedModel(
        { params, signatures: { loss }, paramMode: "variables", config: wsmall },
        `${work}/sm`,
      ),
    );
    const exportMs = performance.now() - t0;
    treeDispose(params as unknown as Tree<tf.Tensor>);
    const runs: TfRun[] = [];
    for (const xla of [false, true]) {
      for (const threads of [1, 2]) runs.push(await runTf(`${work}/sm`, threads, xla, reps));
    }
    const flops = trainStepFlops(wsmall, WSMALL_BATCH, WSMALL_TEXT);
    return [{
      title: "wsmall train step as an exported SavedModel in TensorFlow (CPU)",
      header: ["threads", "XLA", "step wall ms", "step CPU ms", "GFLOP/s wall", "first call s", "loss"],
      rows: runs.map((r) =>
        "error" in r ? [String(r.threads), r.xla ? "on" : "off", `failed: ${r.error}`, "-", "-", "-", "-"] : [
          String(r.threads),
          r.xla ? "on" : "off",
          ms(r.wall_ms),
          ms(r.cpu_ms),
          sig(flops / (r.wall_ms * 1e6)),
          sig(r.first_s),
          sig(r.loss, 5),
        ]
      ),
      notes: [
        `Export (variables mode, loss signature, ${report.variables} variables, ${
          sig(report.bytes / 2 ** 20)
        } MiB): ${ms(exportMs)} ms.`,
        `Median of ${reps} steps after 2 (trace, XLA compile). GFLOP: ${
          sig(flops / 1e9)
        } per step, counted as for the eager table.`,
        `TensorFlow via ${PYTHON}; 1-minute load average at the end: ${
          Deno.loadavg()[0].toFixed(1)
        } on ${navigator.hardwareConcurrency} cores.`,
      ],
    }];
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  for (const t of await tfSavedModelTables()) console.log(`${markdownTable(t)}\n`);
}
