/**
 * A SavedModel in `variables` mode, written by TypeScript alone, checked in real TensorFlow 2.21:
 * load, outputs, GradientTape gradients, XLA, 20 Adam steps and MirroredStrategy over 2 CPUs.
 * One Python process runs every check (TF import takes seconds); each test asserts one claim.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { i32, LM, lmBatch, lmForward, lmLoss, type LmParams, lmParams } from "./_fixtures.ts";
import { maxOf, runTfCheck } from "./_tf_check.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "savedmodel_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const params = lmParams(1);
const { tokens, labels } = lmBatch(0);
const { B, L } = LM;
const report = await Effect.runPromise(
  exportSavedModel({
    params,
    signatures: {
      forward: { fn: (p, i) => lmForward(p, i.tokens), inputs: { tokens: i32(B, L) } },
      loss: { fn: (p, i) => lmLoss(p, i.tokens, i.labels), inputs: { tokens: i32(B, L), labels: i32(B, L) } },
    },
  }, `${work}/model`),
);
const forward = lmForward(params, tokens);
const loss = lmLoss(params, tokens, labels);
const { grads } = valueAndGrad((p: LmParams) => lmLoss(p, tokens, labels).total as tf.Scalar)(params);
const flat = treeFlatten(grads);
const tfReport = await runTfCheck({
  exportDir: `${work}/model`,
  batch: { tokens, labels },
  outputs: {
    forward: { logits: forward.logits, h: forward.h },
    loss: { ce: loss.ce, l2: loss.l2, total: loss.total },
  },
  grads: Object.fromEntries(flat.paths.map((p, i) => [p, flat.leaves[i]])),
  loss: { signature: "loss", key: "total" },
  checks: ["outputs", "grads", "xla", "adam", "mirrored"],
  lr: 3e-3,
}, work);

Deno.test("exportSavedModel reports each signature's inputs, outputs and every param as a variable", () => {
  assert.deepEqual(report.signatures.forward.inputs, ["tokens"]);
  assert.deepEqual(report.signatures.forward.outputs, ["h", "logits"]);
  assert.deepEqual(report.signatures.loss.inputs, ["labels", "tokens"]);
  assert.deepEqual(report.signatures.loss.outputs, ["ce", "l2", "total"]);
  assert.equal(report.variables, treeFlatten(params).leaves.length);
});

Deno.test("tf.saved_model.load restores every param as a trainable variable named by its path", () => {
  assert.deepEqual(Object.keys(tfReport.params).sort(), [...flat.paths].sort());
  assert.deepEqual(tfReport.params["block/attn/q/w"], [LM.D, LM.H, LM.Dh]);
});

Deno.test("TensorFlow's forward and loss equal the TypeScript values (rel err <= 1e-4)", () => {
  assert.deepEqual(tfReport.output_keys.forward, ["h", "logits"]);
  for (const sig of ["forward", "loss"]) {
    assert.ok(maxOf(tfReport.outputs[sig]) <= 1e-4, `${sig}: ${JSON.stringify(tfReport.outputs[sig])}`);
  }
});

Deno.test("tf.GradientTape gradients of the loss equal the TypeScript gradients (rel err <= 1e-3)", () => {
  assert.equal(Object.keys(tfReport.grads).length, flat.paths.length);
  assert.ok(maxOf(tfReport.grads) <= 1e-3, JSON.stringify(tfReport.grads));
});

Deno.test("the loss+gradient step compiles with XLA (jit_compile=True) and gives the eager loss", () => {
  assert.ok(tfReport.xla.hlo_chars > 0);
  assert.ok(
    Math.abs(tfReport.xla.loss - tfReport.xla.eager_loss) <= 1e-4 * Math.abs(tfReport.xla.eager_loss),
  );
});

Deno.test("20 Adam steps in TensorFlow lower the loss", () => {
  const losses: number[] = tfReport.adam.losses;
  assert.equal(losses.length, 20);
  assert.ok(
    Math.abs(losses[0] - loss.total.dataSync()[0]) <= 1e-4 * losses[0],
    `first step loss ${losses[0]}`,
  );
  assert.ok(losses[19] < 0.9 * losses[0], `loss went ${losses[0]} -> ${losses[19]}`);
});

Deno.test("the training step runs under MirroredStrategy on 2 CPUs and matches single-device training", () => {
  const m = tfReport.mirrored;
  assert.equal(m.replicas, 2);
  assert.equal(m.replica_rel_diff, 0, "replicas diverged: gradients were not all-reduced");
  assert.ok(
    m.param_rel_diff_vs_single <= 1e-5,
    `mirrored params differ from single-device by ${m.param_rel_diff_vs_single}`,
  );
  for (let i = 0; i < 3; i++) {
    assert.ok(Math.abs(m.losses[i] - m.single_device_losses[i]) <= 1e-5 * m.losses[i]);
  }
});

Deno.test("an export into an existing folder fails and leaves the folder as it was", async () => {
  const before = await Deno.readFile(`${work}/model/saved_model.pb`);
  const again = await Effect.runPromise(
    Effect.result(exportSavedModel({
      params,
      signatures: { forward: { fn: (p, i) => lmForward(p, i.tokens), inputs: { tokens: i32(B, L) } } },
    }, `${work}/model`)),
  );
  assert.equal(again._tag, "Failure");
  assert.match(String((again as { failure: Error }).failure.message), /already exists/);
  assert.deepEqual(await Deno.readFile(`${work}/model/saved_model.pb`), before);
  const leftovers = [...Deno.readDirSync(work)].map((e) => e.name).filter((n) => n.includes(".tmp-"));
  assert.deepEqual(leftovers, []);
});
