/**
 * The Mirasol3B model (model/mod.ts) exported and checked in TensorFlow 2.21 in one Python process.
 * `tiny` and `small` (7.5M params), both parameter modes: load, forward/loss/encode values,
 * GradientTape gradients, XLA, 20 Adam steps, MirroredStrategy on 2 CPUs (and init(seed) in inputs
 * mode); TensorFlow's fingerprint and the TF1 session loader (TF Serving's path) on every export,
 * and for `tiny` in variables mode, as a new user would try it, every other consumer:
 * saved_model_cli show/run, TFLite and a TensorFlow re-save.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import * as model from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { paramShapes } from "../../transforms/param_shapes.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { paramArgName, type ParamMode } from "../../export/savedmodel/functions.ts";
import { mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import { type CheckCase, maxOf, runTfChecks } from "./_tf_check.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "mirasol_export_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const SHAPES = { batch: 2, textLength: 8 };
type Check = CheckCase["checks"][number];
const TRAINING: Check[] = ["outputs", "grads", "xla", "adam", "mirrored", "tf1", "fingerprint"];
const CONSUMERS: Check[] = ["cli", "tflite", "resave"];
const CASES: readonly { config: "tiny" | "small" | "tiny/no-audio"; mode: ParamMode; checks: Check[] }[] = [
  { config: "tiny", mode: "variables", checks: [...TRAINING, ...CONSUMERS] },
  { config: "tiny", mode: "inputs", checks: [...TRAINING, "init"] },
  { config: "small", mode: "variables", checks: TRAINING },
  { config: "small", mode: "inputs", checks: [...TRAINING, "init"] },
  // The model without audio: its signatures take no audio input at all.
  { config: "tiny/no-audio", mode: "variables", checks: ["outputs", "grads", "tf1", "fingerprint"] },
];
const configOf = (name: (typeof CASES)[number]["config"]): model.MirasolConfig =>
  name === "tiny/no-audio" ? model.withoutAudio(model.configs.tiny) : model.configs[name];

type Prepared = {
  name: string;
  config: model.MirasolConfig;
  mode: ParamMode;
  exportSignatures: string[];
  check: CheckCase;
  paths: string[];
};

async function prepare(
  name: (typeof CASES)[number]["config"],
  mode: ParamMode,
  checks: Check[],
): Promise<Prepared> {
  const config = configOf(name);
  const params = model.init(PRNGKey(1), config);
  const b = model.exampleBatch(PRNGKey(2), config, SHAPES);
  const dir = `${work}/${name.replace("/", "_")}_${mode}`;
  const r = await Effect.runPromise(exportSavedModel<model.MirasolParams>({
    params: mode === "inputs" ? paramShapes(model.init, config) : params,
    signatures: mirasolSignatures(config, SHAPES),
    paramMode: mode,
    config,
  }, dir));
  const opts = { config, train: false } as const;
  const out = model.forward(params, b, opts);
  const l = model.loss(params, b, opts);
  const { grads } = valueAndGrad((p: model.MirasolParams) => model.loss(p, b, opts).total)(params);
  const g = treeFlatten(grads), p = treeFlatten(params);
  const key = (path: string) => (mode === "inputs" ? paramArgName(path) : path);
  return {
    name: `${name}/${mode}`,
    config,
    mode,
    exportSignatures: Object.keys(r.signatures),
    paths: p.paths,
    check: {
      exportDir: dir,
      batch: {
        video: b.video,
        ...(b.audio ? { audio: b.audio } : {}),
        text: b.text,
        text_mask: b.textMask,
        loss_mask: b.lossMask,
      },
      outputs: {
        forward: { logits: out.logits, h: out.h },
        loss: { latent: l.latent, reconstruction: l.reconstruction, text: l.text, total: l.total },
        encode: { h: out.h },
      },
      grads: Object.fromEntries(g.paths.map((path, i) => [key(path), g.leaves[i] as tf.Tensor])),
      params: mode === "inputs"
        ? Object.fromEntries(p.paths.map((path, i) => [key(path), p.leaves[i] as tf.Tensor]))
        : undefined,
      loss: { signature: "loss", key: "total" },
      checks,
      lr: 1e-3,
    },
  };
}

const prepared: Prepared[] = [];
for (const c of CASES) prepared.push(await prepare(c.config, c.mode, c.checks));
const reports = await runTfChecks(prepared.map((p) => p.check), work);

for (const [i, p] of prepared.entries()) {
  const r = reports[i];
  Deno.test(`${p.name}: exported serving, loss and train-mode signatures load in TensorFlow`, () => {
    assert.deepEqual(p.exportSignatures, [
      "diagnostics",
      "encode",
      "fold_in",
      "forward",
      "loss",
      "split",
      "train_loss",
    ]);
    assert.equal(Object.keys(r.params).length, p.paths.length);
    assert.deepEqual(r.output_keys.loss, ["latent", "reconstruction", "text", "total"]);
  });
  Deno.test(`${p.name}: forward, loss and encode equal the TypeScript values (rel err <= 1e-4)`, () => {
    for (const sig of ["forward", "loss", "encode"]) {
      assert.ok(maxOf(r.outputs[sig]) <= 1e-4, `${sig}: ${JSON.stringify(r.outputs[sig])}`);
    }
  });
  Deno.test(`${p.name}: GradientTape gradients equal the TypeScript gradients (rel err <= 1e-3)`, () => {
    assert.equal(Object.keys(r.grads).length, p.paths.length);
    assert.ok(
      maxOf(r.grads) <= 1e-3,
      JSON.stringify(Object.entries(r.grads).sort((a, b) => Number(b[1]) - Number(a[1])).slice(0, 5)),
    );
  });
  Deno.test(`${p.name}: the TF1 session loader restores it and serves every signature (rel err <= 1e-4)`, () => {
    assert.deepEqual(r.tf1.signatures, [
      "__saved_model_init_op",
      "diagnostics",
      "encode",
      "fold_in",
      "forward",
      "loss",
      "serving_default",
      "split",
      "train_loss",
    ]);
    assert.equal(r.tf1.var_handles, p.mode === "variables" ? p.paths.length : 0);
    for (const sig of ["serving_default", "forward", "loss", "encode"]) {
      assert.ok(maxOf(r.tf1.errors[sig]) <= 1e-4, `${sig}: ${JSON.stringify(r.tf1.errors[sig])}`);
    }
  });
  Deno.test(`${p.name}: fingerprint.pb equals TensorFlow's own fingerprint of the export`, () => {
    assert.deepEqual(r.fingerprint.differ, []);
  });
  if (p.check.checks.includes("cli")) {
    Deno.test(`${p.name}: saved_model_cli lists every signature and runs serving_default to TypeScript's forward`, () => {
      assert.deepEqual(Object.keys(r.cli.show.signatures).sort(), [
        "__saved_model_init_op",
        "diagnostics",
        "encode",
        "fold_in",
        "forward",
        "loss",
        "serving_default",
        "split",
        "train_loss",
      ]);
      assert.deepEqual(r.cli.show.signatures.serving_default.inputs.sort(), [
        "audio",
        "text",
        "text_mask",
        "video",
      ]);
      assert.ok(maxOf(r.cli.run) <= 1e-5, JSON.stringify(r.cli.run));
    });
    Deno.test(`${p.name}: TFLite converts forward with builtin ops and its interpreter matches (rel err <= 1e-4)`, () => {
      assert.equal(r.tflite.error, null);
      assert.ok(maxOf(r.tflite.errors) <= 1e-4, JSON.stringify(r.tflite));
    });
    Deno.test(`${p.name}: re-saved by TensorFlow it keeps its signatures and outputs`, () => {
      assert.deepEqual(r.resave.signatures, [
        "diagnostics",
        "encode",
        "fold_in",
        "forward",
        "loss",
        "serving_default",
        "split",
        "train_loss",
      ]);
      for (const sig of ["forward", "loss", "encode"]) assert.ok(maxOf(r.resave.errors[sig]) <= 1e-4, sig);
    });
  }
  if (!p.check.checks.includes("xla")) continue;
  Deno.test(`${p.name}: the loss+gradient step compiles with XLA and gives the eager loss`, () => {
    assert.ok(
      Math.abs(r.xla.loss - r.xla.eager_loss) <= 1e-4 * Math.abs(r.xla.eager_loss),
      JSON.stringify(r.xla),
    );
  });
  Deno.test(`${p.name}: 20 Adam steps in TensorFlow lower the loss`, () => {
    const losses: number[] = r.adam.losses;
    assert.equal(losses.length, 20);
    assert.ok(losses[19] < losses[0], `loss went ${losses[0]} -> ${losses[19]}`);
  });
  Deno.test(`${p.name}: MirroredStrategy on 2 CPUs all-reduces gradients and matches one device`, () => {
    assert.equal(r.mirrored.replicas, 2);
    assert.equal(r.mirrored.replica_rel_diff, 0);
    assert.ok(r.mirrored.param_rel_diff_vs_single <= 1e-5, String(r.mirrored.param_rel_diff_vs_single));
  });
  if (p.mode === "inputs") {
    Deno.test(`${p.name}: init(seed) creates every param with its shape, deterministically`, () => {
      assert.equal(r.init.keys.length, p.paths.length);
      assert.equal(r.init.deterministic, true);
      assert.equal(r.init.seed_changes, true);
    });
  }
}
