/**
 * `inputs` mode: params are keyword arguments and `init(seed)` creates them in TensorFlow, so no
 * weight is written from TypeScript. Checked in TF 2.21 (one Python process for both cases):
 * float32 with every check, and bfloat16 compute (float32 params) for outputs and XLA.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { readBundle } from "../../formats/tensor_bundle.ts";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { treeFlatten, treeShapes } from "../../transforms/tree.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { conventionalInit, paramArgName } from "../../export/savedmodel/functions.ts";
import { f32, i32, LM, lmBatch, lmForward, lmLoss, type LmParams, lmParams } from "./_fixtures.ts";
import { maxOf, runTfChecks } from "./_tf_check.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "savedmodel_inputs_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const params = lmParams(3);
const shapes = treeShapes(params);
const { tokens, labels } = lmBatch(1);
const { B, L } = LM;
const signatures = {
  forward: {
    fn: (p: LmParams, i: Record<string, tf.Tensor>) => lmForward(p, i.tokens),
    inputs: { tokens: i32(B, L) },
  },
  loss: {
    fn: (p: LmParams, i: Record<string, tf.Tensor>) => lmLoss(p, i.tokens, i.labels),
    inputs: { tokens: i32(B, L), labels: i32(B, L) },
  },
};
// Exported from shapes alone: no parameter values exist on this side.
const f32Report = await Effect.runPromise(
  exportSavedModel({ params: shapes, signatures, paramMode: "inputs" }, `${work}/f32`),
);
await Effect.runPromise(
  exportSavedModel(
    { params: shapes, signatures, paramMode: "inputs", computeDtype: "bfloat16" },
    `${work}/bf16`,
  ),
);

const flat = treeFlatten(params);
const byKeyword = Object.fromEntries(flat.paths.map((p, i) => [paramArgName(p), flat.leaves[i]]));
const forward = lmForward(params, tokens);
const loss = lmLoss(params, tokens, labels);
const { grads } = valueAndGrad((p: LmParams) => lmLoss(p, tokens, labels).total as tf.Scalar)(params);
const gflat = treeFlatten(grads);
// Expected std of each init(seed) output under the default rule (a 2-sigma truncated normal has std 0.8796).
const initStd = Object.fromEntries(flat.paths.map((p, i) => {
  const r = conventionalInit(p, flat.leaves[i].shape);
  return [paramArgName(p), r.kind === "truncatedNormal" ? r.std * 0.87962566103423978 : 0];
}));
const outputs = {
  forward: { logits: forward.logits, h: forward.h },
  loss: { ce: loss.ce, l2: loss.l2, total: loss.total },
};
const [f32Check, bf16Check] = await runTfChecks([
  {
    exportDir: `${work}/f32`,
    batch: { tokens, labels },
    outputs,
    grads: Object.fromEntries(gflat.paths.map((p, i) => [paramArgName(p), gflat.leaves[i]])),
    params: byKeyword,
    loss: { signature: "loss", key: "total" },
    checks: ["outputs", "grads", "xla", "adam", "mirrored", "init"],
    lr: 3e-3,
    initStd,
  },
  {
    exportDir: `${work}/bf16`,
    batch: { tokens, labels },
    outputs,
    params: byKeyword,
    loss: { signature: "loss", key: "total" },
    checks: ["outputs", "xla"],
  },
], work);

Deno.test("inputs mode writes no parameter values: variables/ holds only the object graph", async () => {
  const bundle = await readBundle(`${work}/f32/variables/variables`);
  assert.deepEqual([...bundle.keys()], ["_CHECKPOINTABLE_OBJECT_GRAPH"]);
  assert.equal(f32Report.variables, 0);
  assert.deepEqual(f32Report.signatures.loss.inputs, [...Object.keys(byKeyword), "labels", "tokens"].sort());
});

Deno.test("init(seed) creates every param with its shape, deterministically, different for another seed", () => {
  const init = f32Check.init;
  assert.deepEqual(init.keys, Object.keys(byKeyword).sort());
  for (const [k, t] of Object.entries(byKeyword)) assert.deepEqual(init.shapes[k], t.shape, k);
  assert.equal(init.deterministic, true);
  assert.equal(init.seed_changes, true);
});

Deno.test("init(seed) draws each param with the rule's spread: zeros, ones, or LeCun truncated normal", () => {
  const init = f32Check.init;
  for (const [k, want] of Object.entries(initStd)) {
    const got = init.std[k];
    if (want === 0) assert.equal(got, 0, `${k} should be constant`);
    else assert.ok(Math.abs(got - want) <= 0.25 * want, `${k}: std ${got}, expected ${want}`);
  }
  assert.equal(init.mean["block__ln1__scale"], 1);
  assert.equal(init.mean["block__ln1__bias"], 0);
});

Deno.test("inputs mode: forward and loss equal TypeScript (rel err <= 1e-4) with TypeScript's params fed in", () => {
  for (const sig of ["forward", "loss"]) {
    assert.ok(maxOf(f32Check.outputs[sig]) <= 1e-4, `${sig}: ${JSON.stringify(f32Check.outputs[sig])}`);
  }
});

Deno.test("inputs mode: GradientTape gradients w.r.t. the param arguments equal TypeScript's (rel err <= 1e-3)", () => {
  assert.equal(Object.keys(f32Check.grads).length, flat.paths.length);
  assert.ok(maxOf(f32Check.grads) <= 1e-3, JSON.stringify(f32Check.grads));
});

Deno.test("inputs mode: XLA compiles the step, 20 Adam steps lower the loss, MirroredStrategy matches one device", () => {
  assert.ok(
    Math.abs(f32Check.xla.loss - f32Check.xla.eager_loss) <= 1e-4 * Math.abs(f32Check.xla.eager_loss),
  );
  const losses: number[] = f32Check.adam.losses;
  assert.ok(losses[19] < 0.9 * losses[0], `loss went ${losses[0]} -> ${losses[19]}`);
  assert.equal(f32Check.mirrored.replicas, 2);
  assert.equal(f32Check.mirrored.replica_rel_diff, 0);
  assert.ok(f32Check.mirrored.param_rel_diff_vs_single <= 1e-5);
});

Deno.test("bfloat16 compute keeps float32 inputs/outputs, stays within bf16 precision, and compiles with XLA", () => {
  // bf16 has an 8-bit mantissa (rel. step 2^-8 = 0.4%); errors compound over one transformer block.
  assert.ok(maxOf(bf16Check.outputs.loss) <= 3e-2, JSON.stringify(bf16Check.outputs.loss));
  assert.ok(maxOf(bf16Check.outputs.forward) <= 1e-1, JSON.stringify(bf16Check.outputs.forward));
  assert.ok(
    maxOf(bf16Check.outputs.loss) > 1e-6,
    "bf16 outputs are bit-identical to float32: the graph did not compute in bf16",
  );
  assert.ok(Number.isFinite(bf16Check.xla.loss));
});

Deno.test("a param name that clashes with an input name is refused", async () => {
  const clash = await Effect.runPromise(Effect.result(exportSavedModel({
    params: { tokens: f32(2) },
    signatures: {
      f: {
        fn: (p: { tokens: tf.Tensor }, i: Record<string, tf.Tensor>) => tf.add(p.tokens, i.tokens),
        inputs: { tokens: f32(2) },
      },
    },
    paramMode: "inputs",
  }, `${work}/clash`)));
  assert.equal(clash._tag, "Failure");
  assert.match(
    (clash as { failure: Error }).failure.message,
    /param 'tokens' and another input both become keyword 'tokens'/,
  );
});
