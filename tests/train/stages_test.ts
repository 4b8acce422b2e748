/**
 * Pretrain -> finetune from the train CLI: a pretraining run with equal loss weights, then a
 * finetuning run `--init-from` its checkpoint that weights text x10, starts from its params and
 * builds a fresh optimizer.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { main } from "../../train/cli.ts";
import { loadInitParams, stageConfig } from "../../train/stages.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { CheckpointMismatch } from "../../train/_checkpoint_trees.ts";
import { init, type MirasolParams } from "../../model/mirasol.ts";
import { avqa, type MirasolConfig, small, tiny } from "../../model/config.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeDispose, treeFlatten } from "../../transforms/tree.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "stages_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const common = [
  "--config",
  "tiny",
  "--data",
  "synthetic:4",
  "--batch",
  "2",
  "--backend",
  "wasm",
  "--log-every",
  "1",
];
const quiet = async (f: () => Promise<number>) => {
  const [log, error] = [console.log, console.error];
  console.log = console.error = () => {};
  try {
    return await f();
  } finally {
    [console.log, console.error] = [log, error];
  }
};
const pretrainCode = await quiet(() =>
  main([...common, "--out", `${work}/pre`, "--steps", "3", "--lr", "1e-2", "--stage", "pretrain"])
);
// lr 1e-30: the one finetuning update leaves the params where they started, to compare them
const finetuneCode = await quiet(() =>
  main([
    ...common,
    ...["--out", `${work}/fine`, "--steps", "1", "--lr", "1e-30", "--stage", "finetune"],
    ...["--init-from", `${work}/pre/ckpt`],
  ])
);

const maxDiff = (a: Tree<tf.Tensor>, b: Tree<tf.Tensor>) =>
  tf.tidy(() => {
    const [x, y] = [treeFlatten(a).leaves, treeFlatten(b).leaves];
    return Math.max(...x.map((l, i) => tf.max(tf.abs(tf.sub(l, y[i]))).dataSync()[0]));
  });

Deno.test("stageConfig gives equal loss weights for pretraining and text x10 for finetuning, whatever the config had", () => {
  for (const c of [tiny, avqa] as MirasolConfig[]) {
    assert.deepEqual(stageConfig(c, "pretrain").losses, { latent: 1, reconstruction: 1, text: 1 });
    assert.deepEqual(stageConfig(c, "finetune").losses, { latent: 1, reconstruction: 1, text: 10 });
    assert.deepEqual(stageConfig(stageConfig(c, "pretrain"), "finetune"), stageConfig(c, "finetune"));
  }
  assert.equal(stageConfig(tiny, "finetune").name, "tiny/finetune");
});

Deno.test("the finetune stage starts from the pretraining params with text x10 and a fresh optimizer", async () => {
  assert.equal(pretrainCode, 0);
  assert.equal(finetuneCode, 0);
  const pre = await loadCheckpoint<MirasolParams>(`${work}/pre/ckpt`);
  const fine = await loadCheckpoint<MirasolParams>(`${work}/fine/ckpt`);
  const fresh = init(PRNGKey(0), tiny);
  try {
    assert.deepEqual((pre.config as MirasolConfig).losses, { latent: 1, reconstruction: 1, text: 1 });
    assert.deepEqual((fine.config as MirasolConfig).losses, { latent: 1, reconstruction: 1, text: 10 });
    assert.equal(pre.step, 3);
    assert.equal(fine.step, 1);
    const moved = maxDiff(pre.params as Tree<tf.Tensor>, fresh as Tree<tf.Tensor>);
    assert.ok(moved > 1e-3, `pretraining moved the params by only ${moved}`);
    const kept = maxDiff(fine.params as Tree<tf.Tensor>, pre.params as Tree<tf.Tensor>);
    assert.ok(kept < 1e-6, `the finetuning run did not start from the pretraining params (off by ${kept})`);
    // Adam's step counts: 3 after pretraining, 1 after the first finetuning step (not 4)
    const counts = (s: unknown) => {
      const f = treeFlatten(s as Tree<tf.Tensor>);
      return f.paths.filter((p) => /count$/.test(p)).map((p) => f.leaves[f.paths.indexOf(p)].dataSync()[0]);
    };
    assert.ok(counts(pre.optState).length > 0);
    assert.ok(counts(pre.optState).every((c) => c === 3), `pretraining counts ${counts(pre.optState)}`);
    assert.ok(counts(fine.optState).every((c) => c === 1), `finetuning counts ${counts(fine.optState)}`);
  } finally {
    for (const t of [pre.params, pre.optState, fine.params, fine.optState, fresh]) {
      treeDispose(t as Tree<tf.Tensor>);
    }
  }
});

Deno.test("--init-from a checkpoint of another network fails naming the differing config field", async () => {
  await assert.rejects(
    () => loadInitParams(`${work}/pre/ckpt`, stageConfig(small, "finetune")),
    (e: unknown) => e instanceof CheckpointMismatch,
  );
  const code = await quiet(() =>
    main([
      ...common,
      "--out",
      `${work}/x`,
      "--steps",
      "1",
      "--stage",
      "finetune",
      "--init-from",
      `${work}/none`,
    ])
  );
  assert.equal(code, 1);
});

Deno.test("--stage other than pretrain or finetune is a usage error (exit 2)", async () => {
  assert.equal(await quiet(() => main([...common, "--out", `${work}/y`, "--stage", "warmup"])), 2);
});
