/**
 * What trains in TensorFlow is what TypeScript defines. From the same init, the same batches in the
 * same order and the same seed, 20 steps of TypeScript's `train` and 20 steps of export/tf/driver.py
 * (1 replica, XLA off and on) give the same loss at every step and the same parameters at the end:
 * masking and dropout drawn in the graph from the same keys, the same optimizer recipe. Under
 * MirroredStrategy with 2 CPU replicas each replica draws its own masks (stepKey(run, step, replica))
 * and a seed fixes the run.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect, Stream } from "effect";
import { writeTFRecords } from "../../data/tfrecords.ts";
import type { Batch, Example } from "../../data/types.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import { init, loss, type MirasolParams, tiny, validateConfig } from "../../model/mod.ts";
import { batchTensors, disposeBatch } from "../../train/batch_tensors.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { train } from "../../train/loop.ts";
import { syntheticBatches } from "../../train/sources.ts";
import { stepKey } from "../../train/step.ts";
import { setBackend } from "../../transforms/backend.ts";
import { keysFor, PRNGKey } from "../../transforms/random.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { driverCommand, driverResult, readMetrics } from "./_tf_driver_fixtures.ts";

await setBackend("wasm");

// tiny with the paper's regularisers on: Combiner-output masking 0.75 and dropout 0.1.
const config = validateConfig({ ...tiny, name: "tiny-regularised", dropout: 0.1 });
const B = 2, L = 8, STEPS = 20, SEED = 7, LR = 3e-3;
const source = syntheticBatches(config, { batchSize: B, seed: 3, textLength: L });
const batches = Array.from({ length: STEPS }, (_, s) => source(s));

function rows(b: Batch): Example[] {
  const [, N, H, W] = b.videoShape, [, F, Mb] = b.audioShape;
  const v = N * H * W * 3, a = F * Mb;
  return b.ids.map((id, i) => ({
    id,
    video: b.video.slice(i * v, (i + 1) * v),
    videoShape: [N, H, W, 3],
    audio: b.audio.slice(i * a, (i + 1) * a),
    audioShape: [F, Mb],
    mediaMask: b.mediaMask.slice(i * N, (i + 1) * N),
    hasAudio: true,
    fps: 25,
    text: b.text.slice(i * L, (i + 1) * L),
    textMask: b.textMask.slice(i * L, (i + 1) * L),
    lossMask: b.lossMask.slice(i * L, (i + 1) * L),
  }));
}

const work = await Deno.makeTempDir({ prefix: "train_parity_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const runKey = keysFor(PRNGKey(SEED), ["init", "train"]);
const params = init(runKey.init, config); // what `train` starts from for this seed
await Effect.runPromise(
  writeTFRecords(Stream.fromIterable(batches.flatMap(rows)), `${work}/shards`, { shardSize: 1000 }),
);
// Both replicas of a step see the same two examples, so only their keys can make their losses differ.
const twice = batches.slice(0, 3).flatMap((b) => [...rows(b), ...rows(b)]);
await Effect.runPromise(
  writeTFRecords(Stream.fromIterable(twice), `${work}/shards_twice`, { shardSize: 1000 }),
);
await Effect.runPromise(
  exportSavedModel(
    { params, signatures: mirasolSignatures(config, { batch: B, textLength: L }), config },
    `${work}/sm`,
  ),
);

const driver = async (out: string, extra: string[]) => {
  const r = driverResult(
    await driverCommand([
      "--savedmodel",
      `${work}/sm`,
      "--out",
      `${work}/${out}`,
      "--lr",
      String(LR),
      "--seed",
      String(SEED),
      "--shuffle-buffer",
      "0",
      "--log-every",
      "1",
      "--checkpoint-every",
      "1000",
      ...extra,
    ]).output(),
  );
  if (r.code !== 0 || !r.summary) {
    throw new Error(`driver.py failed (exit ${r.code}):\n${r.stderr.slice(-4000)}`);
  }
  return { summary: r.summary, metrics: await readMetrics(`${work}/${out}/metrics.jsonl`) };
};
const ts = await train({
  config,
  data: (s) => batches[s],
  steps: STEPS,
  batchSize: B,
  lr: LR,
  seed: SEED,
  out: `${work}/ts`,
  logEvery: 1,
  checkpointEvery: 1000,
  handleSigint: false,
  write: () => {},
});
// TypeScript's own metrics.jsonl rows, read as plain numbers like the driver's.
const tsMetrics = (await readMetrics(`${work}/ts/metrics.jsonl`)).filter((m) =>
  (m as Record<string, unknown>).split === "train"
);
const one = ["--data", `${work}/shards`, "--steps", String(STEPS), "--batch", String(B)];
const plain = await driver("tf", one);
const jit = await driver("tf_jit", [...one, "--jit"]);
const two = [
  "--data",
  `${work}/shards_twice`,
  "--steps",
  "3",
  "--cpu-replicas",
  "2",
  "--strategy",
  "mirrored",
];
const mirrored = await driver("mirrored", two);
const mirroredAgain = await driver("mirrored_again", two);

const leaves = async (dir: string) => {
  const p = dir === "ts"
    ? ts.params
    : (await loadCheckpoint(`${work}/${dir}`, { config, like: { params } })).params as MirasolParams;
  const f = treeFlatten(p);
  return Object.fromEntries(f.paths.map((path, i) => [path, Array.from(f.leaves[i].dataSync())]));
};

for (const [name, run] of [["XLA off", plain], ["XLA on", jit]] as const) {
  Deno.test(`${name}: the driver's loss equals TypeScript's train at every one of 20 steps (1e-4 relative)`, () => {
    assert.equal(run.summary.signature, "train_loss");
    assert.deepEqual(run.metrics.map((m) => m.step), tsMetrics.map((m) => m.step));
    run.metrics.forEach((m, i) => {
      for (const k of ["total", "latent", "reconstruction", "text"]) {
        const want = tsMetrics[i][k] as number, got = m[k] as number;
        assert.ok(
          Math.abs(got - want) <= 1e-4 * Math.abs(want),
          `step ${m.step} ${k}: driver ${got}, TypeScript ${want}`,
        );
      }
      assert.ok(
        Math.abs((m.lr as number) - (tsMetrics[i].lr as number)) <= 1e-7,
        `step ${m.step}: lr ${m.lr} vs ${tsMetrics[i].lr}`,
      );
    });
  });
  Deno.test(`${name}: after 20 steps the driver's parameters equal TypeScript's within 1e-4`, async () => {
    const [want, got] = [await leaves("ts"), await leaves(name === "XLA off" ? "tf" : "tf_jit")];
    assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
    let worst = 0, at = "";
    // Attention key biases shift every logit of a query's row by the same amount, which softmax
    // cancels: their true gradient is 0 and what both sides compute is rounding noise, which Adam's
    // g / sqrt(v) turns into steps of size lr either way. Only their bound is shared: at most lr a step.
    const keyBias = (path: string) => /\/(attn|cross)\/k\/b$/.test(path);
    for (const path of Object.keys(want).filter(keyBias)) {
      const d = want[path].reduce((mx, v, j) => Math.max(mx, Math.abs(v - got[path][j])), 0);
      assert.ok(d <= 2 * LR * STEPS, `${path} moved apart by ${d}, more than the noise bound`);
    }
    for (const path of Object.keys(want).filter((p) => !keyBias(p))) {
      const d = want[path].reduce((mx, v, j) => Math.max(mx, Math.abs(v - got[path][j])), 0);
      if (d > worst) [worst, at] = [d, path];
    }
    assert.ok(worst <= 1e-4, `${at} differs by ${worst}`);
  });
}

Deno.test("MirroredStrategy, 2 replicas: each replica draws its own masks, and the same seed repeats the run exactly", () => {
  assert.equal(mirrored.summary.replicas, 2);
  // Step 1, both replicas on the same batch: the reported loss is the mean over replicas r of the
  // loss with stepKey(run, 0, r); with one key for both it would be that key's loss alone.
  const batch = batchTensors(batches[0], config);
  const lossWith = (r: number) =>
    tf.tidy(() =>
      loss(params, batch, { config, train: true, key: stepKey(runKey.train, 0, r) }).total.dataSync()[0]
    );
  const [l0, l1] = [lossWith(0), lossWith(1)];
  disposeBatch(batch);
  const got = mirrored.metrics[0].total as number, mean = (l0 + l1) / 2;
  assert.ok(
    Math.abs(l0 - l1) > 1e-3,
    `replica keys 0 and 1 give the same loss (${l0}, ${l1}): the check cannot tell`,
  );
  assert.ok(
    Math.abs(got - mean) <= 1e-4 * mean,
    `step 1: driver ${got}, mean of the two replicas' losses ${mean} (replica 0 alone: ${l0})`,
  );
  assert.deepEqual(mirroredAgain.metrics.map((m) => m.total), mirrored.metrics.map((m) => m.total));
});
