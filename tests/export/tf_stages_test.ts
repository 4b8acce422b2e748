/**
 * Pretrain -> finetune in the TensorFlow driver: `--stage pretrain` minimises the loss terms with
 * equal weights, `--stage finetune --init-from <pretraining run>` weights text x10, starts from the
 * pretraining run's params (not the export's) and with a fresh optimizer; TypeScript's
 * `loadInitParams` starts a finetuning config from the driver's weights as well.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { loadInitParams, stageConfig } from "../../train/stages.ts";
import type { MirasolParams } from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { type Tree, treeDispose, treeFlatten } from "../../transforms/tree.ts";
import {
  config,
  driverCommand,
  driverResult,
  exportTiny,
  runDriver,
  syntheticExample,
  writeShards,
} from "./_tf_driver_fixtures.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "tf_stages_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
await writeShards(`${work}/shards`, Array.from({ length: 4 }, (_, i) => syntheticExample(i)));
const { params, configPath } = await exportTiny(`${work}/savedmodel`);
const common = [
  "--savedmodel",
  `${work}/savedmodel`,
  "--data",
  `${work}/shards/*.tfrecord`,
  "--config",
  configPath,
];
const [pre, missing] = await Promise.all([
  runDriver([...common, "--out", `${work}/pre`, "--steps", "3", "--lr", "3e-3", "--stage", "pretrain"]),
  driverCommand([...common, "--out", `${work}/bad`, "--steps", "1", "--init-from", `${work}/nowhere`])
    .output()
    .then(driverResult),
]);
// lr 1e-30: the one finetuning update leaves the params where they started, to compare them
const fine = await runDriver([
  ...common,
  ...[
    "--out",
    `${work}/fine`,
    "--steps",
    "1",
    "--lr",
    "1e-30",
    "--stage",
    "finetune",
    "--init-from",
    `${work}/pre`,
  ],
]);

const maxDiff = (a: Tree<tf.Tensor>, b: Tree<tf.Tensor>) =>
  tf.tidy(() => {
    const [x, y] = [treeFlatten(a).leaves, treeFlatten(b).leaves];
    return Math.max(...x.map((l, i) => tf.max(tf.abs(tf.sub(l, y[i]))).dataSync()[0]));
  });

Deno.test("driver --stage pretrain weights the loss terms 1:1:1 and --stage finetune 1:1:10", () => {
  assert.deepEqual(pre.summary!.loss_weights, { latent: 1, reconstruction: 1, text: 1 });
  assert.deepEqual(fine.summary!.loss_weights, { latent: 1, reconstruction: 1, text: 10 });
  assert.equal(fine.summary!.stage, "finetune");
});

Deno.test("driver --init-from starts from the pretraining run's params with a fresh optimizer", async () => {
  assert.equal(fine.summary!.init_from, `${work}/pre`);
  assert.equal(fine.summary!.resumed_from, null);
  assert.equal(fine.summary!.trained_steps, 1); // the step count restarted at 0, not at the pretraining's 3
  const like = { params };
  const a = await loadCheckpoint(`${work}/pre`, { like });
  const b = await loadCheckpoint(`${work}/fine`, { like });
  try {
    const moved = maxDiff(a.params as Tree<tf.Tensor>, params as Tree<tf.Tensor>);
    assert.ok(moved > 1e-4, `pretraining moved the params by only ${moved}`);
    const kept = maxDiff(b.params as Tree<tf.Tensor>, a.params as Tree<tf.Tensor>);
    assert.ok(kept < 1e-6, `finetuning did not start from the pretraining params (off by ${kept})`);
  } finally {
    for (const t of [a.params, b.params]) treeDispose(t as Tree<tf.Tensor>);
  }
});

Deno.test("TypeScript's loadInitParams starts a finetuning config from the driver's pretraining weights", async () => {
  const loaded: MirasolParams = await loadInitParams(`${work}/pre`, stageConfig(config, "finetune"));
  const a = await loadCheckpoint(`${work}/pre`, { like: { params } });
  try {
    assert.equal(maxDiff(loaded as Tree<tf.Tensor>, a.params as Tree<tf.Tensor>), 0);
  } finally {
    treeDispose(loaded as Tree<tf.Tensor>);
    treeDispose(a.params as Tree<tf.Tensor>);
  }
});

Deno.test("driver --init-from a folder with no weights fails saying so", () => {
  assert.equal(missing.code, 2, "a missing --init-from is a usage error, found before TensorFlow starts");
  assert.match(missing.stderr, /Cannot --init-from '.*nowhere'/);
});
