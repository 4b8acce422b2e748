/**
 * The TensorFlow training driver end to end on a small fixture model: TypeScript exports a SavedModel
 * and writes TFRecord shards, export/tf/driver.py trains it with XLA under MirroredStrategy on 2
 * logical CPUs, and TypeScript's loadCheckpoint reads the trained weights back, which lower the loss
 * when run eagerly here. (tf_driver_test.ts does the same for the Mirasol model itself.)
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { encodeExample, encodeRecord } from "../../formats/tfrecord.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { setBackend } from "../../transforms/backend.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { i32, LM, lmLoss, type LmParams, lmParams } from "./_fixtures.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "train_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const { B, L, V } = LM;
const params = lmParams(7);
await Effect.runPromise(exportSavedModel({
  params,
  signatures: {
    loss: {
      fn: (p: LmParams, i) => lmLoss(p, i.tokens, i.labels),
      inputs: { tokens: i32(B, L), labels: i32(B, L) },
    },
  },
  config: { name: "lm-fixture" },
}, `${work}/model`));

// 8 examples: a fixed token pattern whose next token is predictable, so training can fit it.
const examples = Array.from({ length: 8 }, (_, e) => {
  const tokens = Array.from({ length: L }, (_, i) => (e + 2 * i) % V);
  return { tokens, labels: tokens.map((t) => (t + 1) % V) };
});
const records = examples.map((x) =>
  encodeRecord(
    encodeExample({ tokens: { kind: "int64", value: x.tokens }, labels: { kind: "int64", value: x.labels } }),
  )
);
await Deno.mkdir(`${work}/data`);
await Deno.writeFile(
  `${work}/data/data-00000-of-00001.tfrecord`,
  new Uint8Array(records.flatMap((r) => [...r])),
);

await Deno.writeTextFile(`${work}/config.json`, JSON.stringify({ name: "lm-fixture" }));
const run = await new Deno.Command(".venv/bin/python", {
  args: [
    "export/tf/driver.py",
    "--savedmodel",
    `${work}/model`,
    "--data",
    `${work}/data/*.tfrecord`,
    "--out",
    `${work}/ckpt`,
    "--steps",
    "40",
    "--lr",
    "1e-2",
    "--cpu-replicas",
    "2",
    "--strategy",
    "mirrored",
    "--jit",
    "--log-every",
    "1",
    "--config",
    `${work}/config.json`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
const stdout = new TextDecoder().decode(run.stdout).trim();
if (!run.success) {
  throw new Error(`driver.py failed:\n${stdout}\n${new TextDecoder().decode(run.stderr).slice(-3000)}`);
}
const summary = JSON.parse(stdout.split("\n").at(-1)!);
const losses = (await Deno.readTextFile(`${work}/ckpt/metrics.jsonl`)).trim().split("\n").map((l) =>
  JSON.parse(l).total as number
);

const evalLoss = (p: LmParams) =>
  tf.tidy(() => {
    const batch = examples.slice(0, B);
    const tokens = tf.tensor2d(batch.flatMap((x) => x.tokens), [B, L], "int32");
    const labels = tf.tensor2d(batch.flatMap((x) => x.labels), [B, L], "int32");
    return lmLoss(p, tokens, labels).total.dataSync()[0];
  });

Deno.test("driver.py trains with XLA under MirroredStrategy with 2 replicas for the steps asked", () => {
  assert.equal(summary.strategy, "MirroredStrategy");
  assert.equal(summary.replicas, 2);
  assert.equal(summary.steps, 40);
  assert.equal(losses.length, 40);
  assert.ok(losses[39] < 0.5 * losses[0], `loss ${losses[0]} -> ${losses[39]}`);
});

Deno.test("loadCheckpoint reads the trained weights back under the same param paths and shapes", async () => {
  const ckpt = await loadCheckpoint(`${work}/ckpt`, { like: { params } });
  assert.equal(ckpt.step, 40);
  assert.deepEqual(ckpt.config, { name: "lm-fixture" });
  const before = treeFlatten(params), after = treeFlatten(ckpt.params as LmParams);
  assert.deepEqual(after.paths, before.paths);
  after.leaves.forEach((l, i) => assert.deepEqual(l.shape, before.leaves[i].shape));
  assert.ok(
    after.leaves.some((l, i) =>
      tf.tidy(() => tf.max(tf.abs(tf.sub(l, before.leaves[i]))).dataSync()[0]) > 1e-3
    ),
    "weights did not change",
  );
});

Deno.test("the weights trained in TensorFlow lower the loss when evaluated in TypeScript", async () => {
  const ckpt = await loadCheckpoint(`${work}/ckpt`, { like: { params } });
  const [before, after] = [evalLoss(params), evalLoss(ckpt.params as LmParams)];
  assert.ok(after < 0.5 * before, `TypeScript loss ${before} -> ${after}`);
});
