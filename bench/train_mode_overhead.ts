/**
 * What the paper's regularisers cost in the exported train step: `wsmall`'s `train_loss` signature
 * with Combiner-output masking 0.75 and dropout 0.1 drawn in the graph (Threefry-2x32 in TensorFlow's
 * integer ops, bit-identical to TypeScript's), against the same signature with both off (ratio 0,
 * dropout 0: no random op in the graph). Each setting is one Python process running
 * export/tf/mirasol_tf.py `make_train_step` (loss + gradients + Adam) with a fixed key; the two
 * exports run interleaved, A B A B ..., and the table gives medians.
 *
 * Run: deno run -A bench/train_mode_overhead.ts [reps]
 */
import { Effect } from "effect";
import { exportSavedModel } from "../export/savedmodel/export.ts";
import { mirasolSignatures } from "../export/savedmodel/mirasol.ts";
import { init, type MirasolConfig, validateConfig } from "../model/mod.ts";
import { setBackend } from "../transforms/backend.ts";
import { PRNGKey } from "../transforms/random.ts";
import { markdownTable, ms, type Table } from "./_table.ts";
import { wsmall, WSMALL_BATCH, WSMALL_TEXT } from "./_wsmall_config.ts";

const PYTHON = new URL("../.venv/bin/python", import.meta.url).pathname;
const DRIVER_DIR = new URL("../export/tf/", import.meta.url).pathname;

const STEP_PY = `
import json, sys, time
threads, xla, export_dir, reps = int(sys.argv[1]), sys.argv[2] == "1", sys.argv[3], int(sys.argv[4])
import tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
sys.path.insert(0, sys.argv[5])
import mirasol_tf as mt
model = mt.load_model(export_dir)
spec = mt.input_specs(model.module.train_loss)
g = tf.random.Generator.from_seed(1)
batch = {}
for name, s in spec.items():
    if name == "key":
        batch[name] = tf.constant([0, 42], tf.uint32)
    elif s.dtype == tf.int32:
        batch[name] = g.uniform(s.shape, 0, 256, dtype=tf.int32)
    elif name.endswith("mask"):
        batch[name] = tf.ones(s.shape, s.dtype)
    else:
        batch[name] = g.uniform(s.shape, dtype=s.dtype)
step = mt.make_train_step(model, lambda b: model.call("train_loss", b)["total"], lr=1e-3, jit_compile=xla)
t0 = time.perf_counter(); float(step(batch)); first = time.perf_counter() - t0
float(step(batch))
wall = []
for _ in range(reps):
    w0 = time.perf_counter(); float(step(batch)); wall.append(time.perf_counter() - w0)
print(json.dumps({"first_s": first, "wall_ms": [1000 * w for w in wall]}))
`;

async function steps(
  exportDir: string,
  threads: number,
  xla: boolean,
  reps: number,
): Promise<{ first_s: number; wall_ms: number[] }> {
  const out = await new Deno.Command(PYTHON, {
    args: ["-c", STEP_PY, String(threads), xla ? "1" : "0", exportDir, String(reps), DRIVER_DIR],
    env: { TF_CPP_MIN_LOG_LEVEL: "2" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) {
    throw new Error(
      `train step failed: ${new TextDecoder().decode(out.stderr).trim().split("\n").slice(-3).join(" ")}`,
    );
  }
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function trainModeOverheadTables(reps = 7, rounds = 3): Promise<Table[]> {
  await setBackend("wasm");
  const work = await Deno.makeTempDir({ prefix: "mirasol_bench_train_mode_" });
  try {
    const variants: Record<string, MirasolConfig> = {
      "masking 0.75 + dropout 0.1": validateConfig({
        ...wsmall,
        name: "wsmall-regularised",
        dropout: 0.1,
        combinerMaskRatio: 0.75,
      }),
      "dropout 0.1 only": validateConfig({
        ...wsmall,
        name: "wsmall-dropout",
        dropout: 0.1,
        combinerMaskRatio: 0,
      }),
      "masking 0.75 only": validateConfig({
        ...wsmall,
        name: "wsmall-masking",
        dropout: 0,
        combinerMaskRatio: 0.75,
      }),
      "both off": validateConfig({ ...wsmall, name: "wsmall-plain", dropout: 0, combinerMaskRatio: 0 }),
    };
    const nodes: Record<string, number> = {};
    for (const [name, config] of Object.entries(variants)) {
      const { train_loss, fold_in } = mirasolSignatures(config, {
        batch: WSMALL_BATCH,
        textLength: WSMALL_TEXT,
      });
      const r = await Effect.runPromise(
        exportSavedModel(
          { params: init(PRNGKey(0), config), signatures: { train_loss, fold_in }, config },
          `${work}/${config.name}`,
        ),
      );
      nodes[name] = r.signatures.train_loss.nodes;
    }
    const rows: string[][] = [];
    for (const xla of [false, true]) {
      const times: Record<string, number[]> = {}, first: Record<string, number> = {};
      for (let round = 0; round < rounds; round++) {
        for (const [name, config] of Object.entries(variants)) {
          const r = await steps(`${work}/${config.name}`, 1, xla, reps);
          (times[name] ??= []).push(...r.wall_ms);
          first[name] = Math.max(first[name] ?? 0, r.first_s);
        }
      }
      const off = median(times["both off"]);
      for (const name of Object.keys(variants)) {
        const t = median(times[name]);
        const over = name === "both off" ? "" : `${(100 * (t / off - 1)).toFixed(1)}%`;
        rows.push([xla ? "on" : "off", name, String(nodes[name]), ms(t), over, first[name].toFixed(1)]);
      }
    }
    return [{
      title:
        "wsmall exported train step (train_loss + gradients + Adam), regularisers in the graph vs off, TensorFlow CPU, 1 thread",
      header: [
        "XLA",
        "train_loss",
        "graph nodes",
        "step wall ms (median)",
        "overhead vs off",
        "first call s (max)",
      ],
      rows,
      notes: [
        `${rounds} interleaved rounds x ${reps} steps per setting after 2 warm-up steps; batch ${WSMALL_BATCH}, text ${WSMALL_TEXT}.`,
        `${new Date().toISOString().slice(0, 10)}; 1-minute load average at the end ${
          Deno.loadavg()[0].toFixed(1)
        } on ${navigator.hardwareConcurrency} cores.`,
      ],
    }];
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

if (import.meta.main) {
  const reps = Number(Deno.args[0] ?? 7);
  for (const t of await trainModeOverheadTables(reps)) console.log(`${markdownTable(t)}\n`);
}
