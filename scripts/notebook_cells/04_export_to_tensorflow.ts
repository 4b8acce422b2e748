/** notebooks/04_export_to_tensorflow.ipynb: SavedModel + graph model export, traced graph, TF agreement. */
import { code, md, type NotebookSpec } from "./cell.ts";

export const exportToTensorflow: NotebookSpec = {
  file: "04_export_to_tensorflow.ipynb",
  cells: [
    md(`
# 04 · Export to TensorFlow

**What this shows.** A \`tiny\` Mirasol3B model exported from TypeScript, with no Python involved in writing it:

1. as a TensorFlow **SavedModel** (signatures \`forward\`, \`loss\` and \`encode\`, parameters as trainable variables);
2. as a TensorFlow.js **graph model**, reloaded here with tfjs-converter and compared with the eager model;
3. the **traced graph** behind the signatures: its inputs, outputs, op counts and first lines;
4. the **TensorFlow check**, run from this notebook in the project's Python environment (TensorFlow 2.21): the
   SavedModel loads, its outputs and its GradientTape gradients equal the TypeScript ones, and a few Adam steps in
   TensorFlow lower the loss;
5. the command that **trains the export in TensorFlow** (MirroredStrategy / TPUStrategy) and writes a checkpoint
   TypeScript reads back.

Runs in well under a minute on a 2-core CPU (most of it importing TensorFlow).
`),
    code(`
import * as tf from "@tensorflow/tfjs-core";
import { loadGraphModel } from "@tensorflow/tfjs-converter";
import { Effect } from "effect";
import { setBackend } from "../transforms/backend.ts";
import { settleJupyterOutputs } from "../viz/jupyter_settle.ts";
import { valueAndGrad } from "../transforms/grad.ts";
import { PRNGKey } from "../transforms/random.ts";
import { treeFlatten } from "../transforms/tree.ts";
import { opCounts, printGraph } from "../transforms/trace_ir.ts";
import { exampleBatch, forward, init, loss, type MirasolParams, tiny } from "../model/mod.ts";
import { exportSavedModel, traceSignature } from "../export/savedmodel/export.ts";
import { mirasolSignatures } from "../export/savedmodel/mirasol.ts";
import { exportGraphModel, graphModelFromDir } from "../export/graphmodel.ts";
import { writeBundle } from "../formats/tensor_bundle.ts";

await setBackend("wasm");
settleJupyterOutputs(); // each cell waits for its pictures to be published before it ends (viz/jupyter_settle.ts)

const config = tiny, shapes = { batch: 2, textLength: 8 };
const params = init(PRNGKey(1), config);
const batch = exampleBatch(PRNGKey(2), config, shapes);
const work = await Deno.makeTempDir({ prefix: "mirasol_export_" });
const python = "../.venv/bin/python"; // made by scripts/setup.sh
`),
    md(`
## 1. SavedModel

\`mirasolSignatures\` gives the three signatures with static shapes (batch 2, text length 8); \`exportSavedModel\`
traces each one, lowers it to TensorFlow ops and writes \`saved_model.pb\`, \`variables/\` (a TensorBundle) and a
side file naming the parameters.
`),
    code(
      `
const signatures = mirasolSignatures(config, shapes);
const savedModelDir = \`\${work}/saved_model\`;
const report = await Effect.runPromise(exportSavedModel({ params, signatures, config }, savedModelDir));
for (const [name, s] of Object.entries(report.signatures)) {
  console.log(\`signature \${name}: \${s.nodes} nodes, inputs [\${s.inputs.join(", ")}] -> outputs [\${s.outputs.join(", ")}]\`);
}
const files = (dir: string, prefix = ""): string[] =>
  [...Deno.readDirSync(dir)].sort((a, b) => a.name.localeCompare(b.name)).flatMap((e) =>
    e.isDirectory ? files(\`\${dir}/\${e.name}\`, \`\${prefix}\${e.name}/\`) : [\`  \${prefix}\${e.name}  \${Deno.statSync(\`\${dir}/\${e.name}\`).size} bytes\`]
  );
console.log(\`\${savedModelDir.replace(work, "<work>")} (\${report.paramMode} mode):\\n\${files(savedModelDir).join("\\n")}\`);
`,
      {
        expectText: [
          "signature forward:",
          "signature loss:",
          "signature encode:",
          "saved_model.pb",
          "variables/variables.index",
        ],
      },
    ),
    md(`
## 2. Graph model for TensorFlow.js

The same \`forward\` as a tfjs graph model (\`model.json\` + one weight shard), loaded back with tfjs-converter's
\`loadGraphModel\` and run on the batch: it must give what the eager TypeScript model gives.
`),
    code(
      `
const graphDir = \`\${work}/graph_model\`;
const gm = await Effect.runPromise(exportGraphModel({ params, fn: signatures.forward.fn, inputs: signatures.forward.inputs }, graphDir));
console.log(\`graph model: \${gm.nodes} nodes, \${gm.weightBytes} weight bytes\`);
const loaded = await loadGraphModel(graphModelFromDir(graphDir));
const feeds = { video: batch.video, audio: batch.audio, text: batch.text, text_mask: batch.textMask, loss_mask: batch.lossMask };
const eager = forward(params, batch, { config, train: false });
const relErr = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0] / tf.max(tf.abs(b)).dataSync()[0]);
for (const name of ["logits", "h"] as const) {
  const forwardFeeds = Object.fromEntries(Object.keys(signatures.forward.inputs).map((k) => [k, feeds[k as keyof typeof feeds]]));
  const out = loaded.execute(forwardFeeds, [name]) as tf.Tensor;
  console.log(\`graph model vs eager \${name} [\${out.shape.join(", ")}]: relative error \${relErr(out, eager[name]).toExponential(1)}\`);
  out.dispose();
}
`,
      {
        expectText: [
          "graph model: ",
          "graph model vs eager logits [2, 8, 40]: relative error",
          "graph model vs eager h [2, 2, 4, 24]",
        ],
      },
    ),
    md(`
## 3. The traced graph

Exporting starts from a trace: the signature runs once on a tracing backend that records every kernel with its
shapes, like a jaxpr. Here is the \`forward\` signature's graph: its size, its most frequent ops, and its first
lines.
`),
    code(
      `
const graph = await Effect.runPromise(traceSignature("forward", params, signatures.forward));
const args = graph.nodes.filter((n) => n.kind === "arg").length;
const ops = Object.entries(opCounts(graph)).filter(([k]) => k !== "arg" && k !== "const").sort((a, b) => b[1] - a[1]);
console.log(\`forward: \${graph.nodes.length} nodes (\${args} arguments, \${ops.reduce((n, [, c]) => n + c, 0)} ops of \${ops.length} kinds), outputs [\${graph.outputs.map((o) => o.path).join(", ")}]\`);
console.log(\`most frequent ops: \${ops.slice(0, 12).map(([k, c]) => \`\${k} x\${c}\`).join(", ")}\`);
const text = printGraph(graph).split("\\n"); // a jaxpr-like listing: arguments, then one line per op
const opLines = text.filter((l) => /= [A-Z]/.test(l));
console.log([\`\${text[0].slice(0, 100)} ... (\${args} arguments)\`, ...text.filter((l) => l.includes("= arg ")).slice(0, 3), "    ...", ...opLines.slice(0, 16), "    ...", text[text.length - 1]].join("\\n"));
`,
      { expectText: ["forward: ", "most frequent ops: ", "{ lambda", "= BatchMatMul", "in {h: %"] },
    ),
    md(`
## 4. TensorFlow agrees

The TypeScript side writes what it expects (the batch, the three signatures' outputs, the loss gradient for every
parameter) as a TensorBundle, which TensorFlow reads natively; \`export/tf/check_savedmodel.py\` loads the
SavedModel in TensorFlow 2.21, runs the signatures and a GradientTape, takes 5 Adam steps, and prints the
relative errors as JSON. TensorFlow runs in its own process, started from here with \`Deno.Command\`.
`),
    code(
      `
const opts = { config, train: false } as const;
const l = loss(params, batch, opts);
const { grads } = valueAndGrad((p: MirasolParams) => loss(p, batch, opts).total)(params);
const expected: Record<string, tf.Tensor> = {
  ...Object.fromEntries(Object.entries(feeds).map(([k, t]) => [\`batch/\${k}\`, t])),
  "out/forward/logits": eager.logits, "out/forward/h": eager.h, "out/encode/h": eager.h,
  "out/loss/total": l.total, "out/loss/text": l.text, "out/loss/latent": l.latent, "out/loss/reconstruction": l.reconstruction,
};
const g = treeFlatten(grads);
g.paths.forEach((path, i) => (expected[\`grad/\${path}\`] = g.leaves[i] as tf.Tensor));
await writeBundle(\`\${work}/expected\`, await Promise.all(Object.entries(expected).map(async ([key, t]) =>
  t.dtype === "int32"
    ? { key, dtype: "int32" as const, shape: [...t.shape], data: (await t.data()) as Int32Array }
    : { key, dtype: "float32" as const, shape: [...t.shape], data: Float32Array.from(await t.data() as Float32Array) }
)));
const check = {
  export_dir: savedModelDir, expected: \`\${work}/expected\`, batch: Object.keys(feeds),
  outputs: { forward: ["logits", "h"], encode: ["h"], loss: ["total", "text", "latent", "reconstruction"] },
  loss: { signature: "loss", key: "total" }, checks: ["outputs", "grads", "adam"], adam_steps: 5, lr: 1e-3, init_std: {},
};
await Deno.writeTextFile(\`\${work}/case.json\`, JSON.stringify(check));
const started = performance.now();
const run = await new Deno.Command(python, { args: ["../export/tf/check_savedmodel.py", \`\${work}/case.json\`], stdout: "piped", stderr: "piped" }).output();
const stdout = new TextDecoder().decode(run.stdout);
if (!run.success) throw new Error(\`check_savedmodel.py failed:\\n\${new TextDecoder().decode(run.stderr).slice(-2000)}\`);
const tfReport = JSON.parse(stdout.split("\\n").find((line) => line.startsWith("{"))!);
if (tfReport.error) throw new Error(\`TensorFlow check failed: \${tfReport.error}\`);
console.log(\`TensorFlow \${tfReport.tf_version ?? ""} check in \${((performance.now() - started) / 1000).toFixed(1)} s\`);
const worst = (r: Record<string, number>) => Math.max(...Object.values(r));
const rows: [string, string][] = [
  ...Object.entries(tfReport.outputs as Record<string, Record<string, number>>).map(([sig, r]): [string, string] => [\`\${sig} outputs\`, worst(r).toExponential(1)]),
  [\`gradients of \${Object.keys(tfReport.grads).length} parameters\`, worst(tfReport.grads).toExponential(1)],
];
for (const [what, err] of rows) console.log(\`  TF vs TypeScript, \${what.padEnd(28)} max relative error \${err}\`);
const adam: number[] = tfReport.adam.losses;
console.log(\`  Adam in TensorFlow, \${adam.length} steps: loss \${adam[0].toFixed(4)} -> \${adam[adam.length - 1].toFixed(4)}\`);
const agree = rows.every(([, err]) => Number(err) <= 1e-3) && adam[adam.length - 1] < adam[0];
console.log(agree ? "TensorFlow and TypeScript agree" : "TensorFlow and TypeScript DISAGREE");
`,
      {
        expectText: [
          "TF vs TypeScript, forward outputs",
          "gradients of",
          "Adam in TensorFlow, 5 steps",
          "TensorFlow and TypeScript agree",
        ],
      },
    ),
    md(`
## 5. Training the export in TensorFlow

The export is a complete training target: \`export/tf/driver.py\` loads it under TPUStrategy when a TPU is
reachable, MultiWorkerMirroredStrategy when \`TF_CONFIG\` names several workers, else MirroredStrategy over the
local GPUs (or \`--cpu-replicas\` logical CPUs); \`--jit\` compiles the step with XLA. It reads TFRecord shards
written by \`data/tfrecords.ts\` (every keyword input of the \`loss\` signature is a feature), all-reduces the
gradients, and writes checkpoints that \`loadCheckpoint\` (\`train/checkpoint.ts\`) reads back into TypeScript.
For this export:
`),
    code(
      `
const trainCommand = [".venv/bin/python", "export/tf/driver.py", "--savedmodel", savedModelDir, "--data", "'shards/*.tfrecord'", "--steps", "1000", "--out", "ckpt", "--lr", "1e-4", "--cpu-replicas", "2", "--jit"];
console.log(trainCommand.join(" ").replace(work, "<work>"));
const help = await new Deno.Command(python, { args: ["../export/tf/driver.py", "--help"], stdout: "piped", stderr: "piped" }).output();
console.log(new TextDecoder().decode(help.stdout).split("\\n").slice(0, 3).join("\\n"));
`,
      { expectText: ["export/tf/driver.py --savedmodel <work>/saved_model", "usage: driver.py"] },
    ),
    code(`
tf.dispose([batch.video, batch.audio, batch.text, batch.textMask, batch.lossMask]);
loaded.dispose();
await Deno.remove(work, { recursive: true });
`),
  ],
};
