/**
 * A small SavedModel (the MLP of _fixtures.ts) read by every TensorFlow 2.21 consumer, in both
 * parameter modes and with bfloat16 compute: saved_model_cli show/run, the TF1 session loader that
 * mirrors C++ LoadSavedModel (TF Serving), TFLite, a TensorFlow re-save, TensorFlow's fingerprint,
 * and a field-by-field diff of our MetaGraphDef against the one TensorFlow writes for the same
 * model in Python (export/tf/_check_reference.py lists what may legitimately differ).
 * One Python process runs every case.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { treeFlatten, treeShapes } from "../../transforms/tree.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { paramArgName } from "../../export/savedmodel/functions.ts";
import { f32, i32, mlp, type MlpParams } from "./_fixtures.ts";
import { type CheckCase, maxOf, runTfChecks } from "./_tf_check.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "savedmodel_consumers_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const [B, D, H, C] = [4, 3, 5, 4];
const params: MlpParams = {
  l1: { w: tf.randomNormal([D, H], 0, 0.7, "float32", 1), b: tf.randomNormal([H], 0, 0.1, "float32", 2) },
  l2: { w: tf.randomNormal([H, C], 0, 0.7, "float32", 3), b: tf.randomNormal([C], 0, 0.1, "float32", 4) },
};
const x = tf.randomNormal([B, D], 0, 1, "float32", 5);
const labels = tf.tensor1d([0, 3, 1, 2], "int32");
const loss = (p: MlpParams, x: tf.Tensor, labels: tf.Tensor) => {
  const logp = tf.logSoftmax(mlp(p, x));
  return tf.mean(tf.neg(tf.sum(tf.mul(tf.oneHot(labels, C), logp), -1)));
};
const signatures = {
  forward: {
    fn: (p: MlpParams, i: Record<string, tf.Tensor>) => ({ y: mlp(p, i.x) }),
    inputs: { x: f32(B, D) },
  },
  loss: {
    fn: (p: MlpParams, i: Record<string, tf.Tensor>) => ({ total: loss(p, i.x, i.labels) }),
    inputs: { x: f32(B, D), labels: i32(B) },
  },
};
const flat = treeFlatten(params);
const reference = (mode: string) => ({
  mode,
  params: Object.fromEntries(flat.paths.map((p, i) => [p, flat.leaves[i].shape])),
  batch: B,
  features: D,
  classes: C,
});
const outputs = { forward: { y: mlp(params, x) }, loss: { total: loss(params, x, labels) } };
const ALL: CheckCase["checks"] = ["outputs", "cli", "tf1", "tflite", "resave", "fingerprint", "reference"];
const cases: { name: string; check: CheckCase }[] = [];
for (
  const [name, mode, computeDtype] of [
    ["variables", "variables", "float32"],
    ["inputs", "inputs", "float32"],
    ["bf16", "variables", "bfloat16"],
  ] as const
) {
  const dir = `${work}/${name}`;
  await Effect.runPromise(exportSavedModel({
    params: mode === "inputs" ? treeShapes(params) : params,
    signatures,
    paramMode: mode,
    computeDtype,
  }, dir));
  cases.push({
    name,
    check: {
      exportDir: dir,
      batch: { x, labels },
      outputs,
      params: mode === "inputs"
        ? Object.fromEntries(flat.paths.map((p, i) => [paramArgName(p), flat.leaves[i]]))
        : undefined,
      loss: { signature: "loss", key: "total" },
      checks: ALL,
      reference: reference(mode),
      tfliteSelectTfOps: computeDtype === "bfloat16",
    },
  });
}
const reports = await runTfChecks(cases.map((c) => c.check), work);

for (const [i, { name }] of cases.entries()) {
  const r = reports[i];
  // bf16 has an 8-bit mantissa: its outputs are compared at bf16 precision.
  const tol = name === "bf16" ? 3e-2 : 1e-5;
  Deno.test(`${name}: saved_model_cli show --all lists every signature with its inputs and outputs`, () => {
    assert.equal(r.cli.show.returncode, 0, r.cli.show.stderr_tail);
    assert.deepEqual(Object.keys(r.cli.show.signatures).sort(), [
      "__saved_model_init_op",
      "forward",
      "loss",
      "serving_default",
    ]);
    const keywords = name === "inputs" ? flat.paths.map(paramArgName) : [];
    assert.deepEqual(r.cli.show.signatures.loss.inputs.sort(), [...keywords, "labels", "x"].sort());
    assert.deepEqual(r.cli.show.signatures.serving_default.inputs.sort(), [...keywords, "x"].sort());
    assert.deepEqual(r.cli.show.signatures.loss.outputs, ["total"]);
    assert.deepEqual(r.cli.show.signatures.forward.outputs, ["y"]);
  });
  Deno.test(`${name}: saved_model_cli run on serving_default gives TypeScript's forward (rel err <= ${tol})`, () => {
    assert.ok(maxOf(r.cli.run) <= tol, JSON.stringify(r.cli.run));
  });
  Deno.test(`${name}: the TF1 session loader restores the variables and serves serving_default and loss`, () => {
    assert.deepEqual(r.tf1.signatures, ["__saved_model_init_op", "forward", "loss", "serving_default"]);
    assert.equal(r.tf1.has_saver, true);
    assert.equal(r.tf1.var_handles, name === "inputs" ? 0 : flat.paths.length);
    for (const sig of ["serving_default", "loss"]) {
      assert.ok(maxOf(r.tf1.errors[sig]) <= tol, `${sig}: ${JSON.stringify(r.tf1.errors[sig])}`);
    }
  });
  if (name === "bf16") {
    Deno.test("bf16: TFLiteConverter converts forward with TF Select ops (TFLite has no bfloat16 kernels)", () => {
      assert.equal(r.tflite.error, null);
      assert.ok(r.tflite.bytes > 0);
      // Running Select ops needs the Flex delegate, which the tensorflow-cpu wheel does not ship.
      assert.match(r.tflite.run_error, /Flex delegate/);
    });
  } else {
    Deno.test(`${name}: TFLiteConverter converts forward and the TFLite interpreter matches (rel err <= 1e-4)`, () => {
      assert.equal(r.tflite.error, null);
      assert.ok(maxOf(r.tflite.errors) <= 1e-4, JSON.stringify(r.tflite));
    });
  }
  Deno.test(`${name}: re-saved by tf.saved_model.save, it keeps its signatures and outputs`, () => {
    assert.deepEqual(r.resave.signatures, ["forward", "loss", "serving_default"]);
    for (const sig of ["forward", "loss"]) {
      assert.ok(maxOf(r.resave.errors[sig]) <= tol, `${sig}: ${JSON.stringify(r.resave.errors[sig])}`);
    }
  });
  Deno.test(`${name}: fingerprint.pb equals TensorFlow's own fingerprint of the directory`, () => {
    assert.deepEqual(r.fingerprint.differ, []);
    assert.deepEqual(r.fingerprint.version, [4, 4]);
  });
  Deno.test(`${name}: our MetaGraphDef and TensorFlow's for the same Python module agree field by field`, () => {
    assert.deepEqual(r.reference.differences, [], r.reference.differences.join("\n"));
    assert.deepEqual(
      r.reference.roles,
      [
        "attr:forward",
        "attr:loss",
        ...(name === "inputs" ? ["attr:init"] : []),
        "restore",
        "save",
        "signature:forward",
        "signature:loss",
        "signature:serving_default",
      ].sort(),
    );
  });
}
