/**
 * The TensorFlow training driver end to end on `tiny`, on CPU: TypeScript writes TFRecord shards of a
 * learnable synthetic task and exports a SavedModel in both parameter modes; export/tf/driver.py
 * trains each for 20 steps of TypeScript's recipe on the train-mode signature (the `inputs` export
 * XLA-compiled with --jit); TypeScript's loadCheckpoint reads the trained weights back and runs
 * forward and loss with them. (Step-by-step equality with TypeScript's `train`: train_parity_test.ts.)
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import type { MirasolParams } from "../../model/mod.ts";
import * as model from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { keysFor, PRNGKey } from "../../transforms/random.ts";
import { stepKey } from "../../train/step.ts";
import {
  BATCH,
  batchOf,
  config,
  exportTiny,
  mean,
  readMetrics,
  runDriver,
  syntheticExample,
  TEXT_LENGTH,
  writeShards,
} from "./_tf_driver_fixtures.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "tf_driver_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const STEPS = 20;
const examples = Array.from({ length: 8 }, (_, i) => syntheticExample(i));
const shards = await writeShards(`${work}/shards`, examples);
const { params, configPath } = await exportTiny(`${work}/savedmodel`);
await exportTiny(`${work}/savedmodel_inputs`, "inputs");
const common = [
  "--data",
  `${work}/shards/*.tfrecord`,
  "--steps",
  String(STEPS),
  "--lr",
  "3e-3",
  "--log-every",
  "1",
  "--config",
  configPath,
];
const [run, inputsRun] = await Promise.all([
  runDriver([
    "--savedmodel",
    `${work}/savedmodel`,
    "--out",
    `${work}/run`,
    "--batch",
    String(BATCH),
    "--checkpoint-every",
    "10",
    "--seed",
    "5",
    ...common,
  ]),
  runDriver([
    "--savedmodel",
    `${work}/savedmodel_inputs`,
    "--out",
    `${work}/run_inputs`,
    "--jit",
    "--seed",
    "3",
    ...common,
  ]),
]);
const metrics = await readMetrics(`${work}/run/metrics.jsonl`);
const ckpt = await loadCheckpoint(`${work}/run`, { config, like: { params } });
const trained = ckpt.params as MirasolParams;

const totalLoss = (p: MirasolParams) =>
  tf.tidy(() => {
    let sum = 0;
    for (let i = 0; i < examples.length; i += BATCH) {
      sum +=
        model.loss(p, batchOf(examples.slice(i, i + BATCH)), { config, train: false }).total.dataSync()[0];
    }
    return sum / (examples.length / BATCH);
  });

Deno.test("the driver trains on the one CPU for the steps asked, reading every shard", () => {
  assert.equal(shards.length, 3);
  assert.equal(run.summary!.strategy, "DefaultStrategy"); // one device: no mirrored copies
  assert.equal(run.summary!.steps, STEPS);
  assert.equal(run.summary!.mode, "variables");
  assert.equal(run.summary!.global_batch, BATCH);
});

Deno.test("metrics.jsonl has one finite line per step (losses, lr, gradient norm, collapse diagnostics), and the loss goes down", () => {
  assert.deepEqual(metrics.map((m) => m.step), Array.from({ length: STEPS }, (_, i) => i + 1));
  const logged = [
    "total",
    "text",
    "latent",
    "reconstruction",
    "lr",
    "grad_norm",
    "diag_x_rank",
    "diag_x_spread_samples",
    "diag_latent_shuffled",
  ];
  for (const m of metrics) {
    for (const k of logged) assert.ok(Number.isFinite(m[k]), `step ${m.step}: ${k} = ${m[k]}`);
  }
  const [first, last] = [
    mean(metrics.slice(0, 5).map((m) => m.total)),
    mean(metrics.slice(-5).map((m) => m.total)),
  ];
  assert.ok(last < 0.85 * first, `mean loss of steps 1-5 ${first} -> steps 16-20 ${last}`);
});

Deno.test("the first step's loss is the TypeScript train-mode loss of the exported params, with step 0's key, on a training batch", () => {
  // Which 2 of the 8 examples the shuffled first batch holds is TF's choice: compare with every pair's range.
  const pairs: [number, number][] = [];
  for (let i = 0; i < examples.length; i++) {
    for (let j = 0; j < examples.length; j++) if (i !== j) pairs.push([i, j]);
  }
  const key = stepKey(keysFor(PRNGKey(5), ["init", "train"]).train, 0); // the run key train derives from --seed 5
  const losses = tf.tidy(() =>
    pairs.map(([i, j]) =>
      model.loss(params, batchOf([examples[i], examples[j]]), { config, train: true, key }).total
        .dataSync()[0]
    )
  );
  const closest = Math.min(...losses.map((l) => Math.abs(l - metrics[0].total)));
  assert.ok(
    closest <= 1e-3 * metrics[0].total,
    `step 1 loss ${metrics[0].total} is no pair's TypeScript loss (closest off by ${closest})`,
  );
});

Deno.test("tf.train.Checkpoint checkpoints are saved periodically under run/train", () => {
  const names = [...Deno.readDirSync(`${work}/run/train`)].map((e) => e.name);
  for (const step of [10, 20]) assert.ok(names.includes(`ckpt-${step}.index`), `no ckpt-${step} in ${names}`);
});

Deno.test("loadCheckpoint reads the trained weights: the step, the config, every param with its shape", () => {
  assert.equal(ckpt.step, STEPS);
  assert.deepEqual(ckpt.config, JSON.parse(JSON.stringify(config)));
  const [before, after] = [treeFlatten(params), treeFlatten(trained)];
  assert.deepEqual(after.paths, before.paths);
  after.leaves.forEach((l, i) => assert.deepEqual(l.shape, before.leaves[i].shape, after.paths[i]));
  const changed = after.leaves.filter((l, i) =>
    tf.tidy(() => tf.max(tf.abs(tf.sub(l, before.leaves[i]))).dataSync()[0]) > 1e-4
  );
  assert.ok(
    changed.length >= 0.9 * after.leaves.length,
    `only ${changed.length} of ${after.leaves.length} params changed`,
  );
});

Deno.test("forward runs in TypeScript with the trained weights, and their loss on the task is lower", () => {
  tf.tidy(() => {
    const out = model.forward(trained, batchOf(examples.slice(0, BATCH)), { config, train: false });
    assert.deepEqual(out.logits.shape, [BATCH, TEXT_LENGTH, config.text.vocab]);
    assert.ok(tf.all(tf.isFinite(out.logits)).dataSync()[0] === 1, "non-finite logits");
  });
  const [before, after] = [totalLoss(params), totalLoss(trained)];
  assert.ok(after < 0.85 * before, `TypeScript loss over the 8 examples: ${before} -> ${after}`);
});

Deno.test("an inputs-mode export trains with --jit from init(seed), and its weights load under the param paths", async () => {
  assert.equal(inputsRun.summary!.mode, "inputs");
  const m = await readMetrics(`${work}/run_inputs/metrics.jsonl`);
  assert.equal(m.length, STEPS);
  const [first, last] = [mean(m.slice(0, 5).map((x) => x.total)), mean(m.slice(-5).map((x) => x.total))];
  assert.ok(last < 0.85 * first, `inputs mode, --jit: mean loss ${first} -> ${last}`);
  const loaded = await loadCheckpoint(`${work}/run_inputs`, { config, like: { params } }); // every path, every shape
  assert.equal(loaded.step, STEPS);
  tf.tidy(() => {
    const out = model.forward(loaded.params as MirasolParams, batchOf(examples.slice(0, BATCH)), {
      config,
      train: false,
    });
    assert.ok(tf.all(tf.isFinite(out.logits)).dataSync()[0] === 1, "non-finite logits");
  });
});
