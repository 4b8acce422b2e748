/**
 * The exported Mirasol3B train step under XLA in real TensorFlow: export/tf/mirasol_tf.py's
 * `make_train_step(..., jit_compile=True)` must compile once and then reuse the executable. Called
 * as a function, the restored `loss` signature's gradient receives its constant operands (Slice
 * begins, Transpose permutations) as forward-call outputs, so XLA took every parameter for a
 * compile-time constant and recompiled on each step (tiny: ~10 s a step instead of ~10 ms).
 * XLA's compilations are counted from its HLO dump (one `before_optimizations` module each).
 */
import assert from "node:assert/strict";
import { Effect } from "effect";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import { tiny } from "../../model/config.ts";
import { init } from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";

await setBackend("wasm");

const STEPS = 4;

/** Same batch, same initial variables: STEPS steps with XLA, STEPS without, and inline-vs-call gradients. */
const STEP_PY = `
import json, sys
sys.path.insert(0, "export/tf")
import mirasol_tf as mt
import numpy as np
import tensorflow as tf
export_dir, steps, vocab = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
probe = mt.load_model(export_dir)
spec = mt.input_specs(probe.module.loss)
g = tf.random.Generator.from_seed(1)
batch = {n: g.uniform(s.shape, 0, vocab, dtype=tf.int32) if s.dtype == tf.int32 else tf.ones(s.shape) if n.endswith("mask") else g.uniform(s.shape)
         for n, s in sorted(spec.items())}  # sorted: the dict order varies by process
def losses(jit):
    model = mt.load_model(export_dir)
    step = mt.make_train_step(model, lambda b: model.call("loss", b)["total"], lr=1e-3, jit_compile=jit)
    return [float(step(batch)) for _ in range(steps)]
xla, plain = losses(True), losses(False)
# The inlined body's tf.gradients against GradientTape through the restored call, eagerly.
names = sorted(probe.params)
with tf.GradientTape() as tape:
    loss = probe.call("loss", batch)["total"]
want = [tf.convert_to_tensor(x).numpy() for x in tape.gradient(loss, [probe.params[k] for k in names])]
inlined = tf.function(lambda b: tf.gradients(probe.call("loss", b, inline=True)["total"], [probe.params[k] for k in names]))
got = [tf.convert_to_tensor(x).numpy() for x in inlined(batch)]
scale = max(float(np.max(np.abs(w))) for w in want)
grad_err = max(float(np.max(np.abs(a - b))) for a, b in zip(got, want)) / scale
print(json.dumps({"xla": xla, "plain": plain, "grad_err": grad_err}))
`;

const work = await Deno.makeTempDir({ prefix: "xla_step_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const params = init(PRNGKey(0), tiny);
const { loss } = mirasolSignatures(tiny, { batch: 2, textLength: 8 });
await Effect.runPromise(
  exportSavedModel({ params, signatures: { loss }, paramMode: "variables", config: tiny }, `${work}/sm`),
);

const run = await new Deno.Command(".venv/bin/python", {
  args: ["-c", STEP_PY, `${work}/sm`, String(STEPS), String(tiny.text.vocab)],
  env: {
    TF_CPP_MIN_LOG_LEVEL: "2",
    XLA_FLAGS: `--xla_dump_to=${work}/hlo --xla_dump_hlo_module_re=.*loss_and_grads.*`,
  },
  stdout: "piped",
  stderr: "piped",
}).output();
const stdout = new TextDecoder().decode(run.stdout).trim();
if (!run.success) {
  throw new Error(`XLA step check failed:\n${stdout}\n${new TextDecoder().decode(run.stderr).slice(-3000)}`);
}
const report: { xla: number[]; plain: number[]; grad_err: number } = JSON.parse(stdout.split("\n").at(-1)!);
const compiled = [...Deno.readDirSync(`${work}/hlo`)].filter((e) =>
  e.name.includes("loss_and_grads") && e.name.endsWith("before_optimizations.txt")
);

Deno.test(`the XLA train step compiles once over ${STEPS} steps, not once per step`, () => {
  assert.equal(
    compiled.length,
    1,
    `XLA compiled the step ${compiled.length} times: ${compiled.map((e) => e.name).join(", ")}`,
  );
});

Deno.test("the XLA train step's losses are those of the step without XLA, and fall", () => {
  const { xla, plain } = report;
  assert.equal(xla.length, STEPS);
  for (let i = 0; i < STEPS; i++) {
    assert.ok(
      Math.abs(xla[i] - plain[i]) <= 1e-3 * Math.abs(plain[i]),
      `step ${i}: XLA ${xla[i]} vs ${plain[i]}`,
    );
  }
  assert.ok(xla[STEPS - 1] < xla[0], `losses ${xla.join(", ")}`);
});

Deno.test("gradients of the inlined signature are GradientTape's through the restored call", () => {
  assert.ok(report.grad_err < 1e-4, `max |inlined - tape| / max |tape| = ${report.grad_err}`);
});
