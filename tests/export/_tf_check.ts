/**
 * Runs export/tf/check_savedmodel.py on an export and returns its JSON report. The expected values
 * (batch, outputs, gradients, params) travel as a TensorBundle, which TensorFlow reads natively.
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BundleEntry, writeBundle } from "../../formats/tensor_bundle.ts";

export type CheckCase = {
  readonly exportDir: string;
  readonly batch: Record<string, tf.Tensor>;
  readonly outputs: Record<string, Record<string, tf.Tensor>>;
  readonly grads?: Record<string, tf.Tensor>;
  readonly params?: Record<string, tf.Tensor>;
  readonly loss: { readonly signature: string; readonly key: string };
  readonly checks: readonly (
    | "outputs"
    | "grads"
    | "xla"
    | "adam"
    | "mirrored"
    | "init"
    | "cli" // saved_model_cli show --all, and run on serving_default
    | "tf1" // tf.compat.v1.saved_model.loader.load in a Session: every signature
    | "tflite" // TFLiteConverter of the serving signature, run by the interpreter
    | "resave" // tf.saved_model.save of the loaded model, loaded and run again
    | "fingerprint" // fingerprint.pb against TensorFlow's CreateFingerprintDef
    | "reference" // MetaGraphDef diff against TensorFlow's for the same Python module
  )[];
  readonly adamSteps?: number;
  readonly lr?: number;
  readonly initStd?: Record<string, number>;
  /** The signature serving_default serves (default forward). */
  readonly servingDefault?: string;
  /** For "tflite": allow TensorFlow kernels for ops TFLite lacks (it has no bfloat16 kernels). */
  readonly tfliteSelectTfOps?: boolean;
  /** For "reference": the model export/tf/_check_reference.py rebuilds in Python. */
  readonly reference?: unknown;
};

// deno-lint-ignore no-explicit-any
export type CheckReport = Record<string, any>;

async function entry(key: string, t: tf.Tensor): Promise<BundleEntry> {
  if (t.dtype === "int32") {
    return { key, dtype: "int32", shape: [...t.shape], data: (await t.data()) as Int32Array };
  }
  return {
    key,
    dtype: "float32",
    shape: [...t.shape],
    data: Float32Array.from(await t.data() as Float32Array),
  };
}

async function writeCase(c: CheckCase, dir: string): Promise<string> {
  await Deno.mkdir(dir, { recursive: true });
  const entries: BundleEntry[] = [];
  for (const [k, t] of Object.entries(c.batch)) entries.push(await entry(`batch/${k}`, t));
  for (const [sig, outs] of Object.entries(c.outputs)) {
    for (const [k, t] of Object.entries(outs)) entries.push(await entry(`out/${sig}/${k}`, t));
  }
  for (const [k, t] of Object.entries(c.grads ?? {})) entries.push(await entry(`grad/${k}`, t));
  for (const [k, t] of Object.entries(c.params ?? {})) entries.push(await entry(`param/${k}`, t));
  await writeBundle(`${dir}/expected`, entries);
  const casePath = `${dir}/case.json`;
  await Deno.writeTextFile(
    casePath,
    JSON.stringify({
      export_dir: c.exportDir,
      expected: `${dir}/expected`,
      batch: Object.keys(c.batch),
      outputs: Object.fromEntries(Object.entries(c.outputs).map(([s, o]) => [s, Object.keys(o)])),
      loss: c.loss,
      checks: c.checks,
      adam_steps: c.adamSteps ?? 20,
      lr: c.lr ?? 1e-3,
      init_std: c.initStd ?? {},
      serving_default: c.servingDefault ?? "forward",
      reference: c.reference ?? null,
      tflite_select_tf_ops: c.tfliteSelectTfOps ?? false,
    }),
  );
  return casePath;
}

/** Checks every case in one Python process (TensorFlow's import is paid once); one report per case. */
export async function runTfChecks(cases: readonly CheckCase[], workDir: string): Promise<CheckReport[]> {
  const paths = await Promise.all(cases.map((c, i) => writeCase(c, `${workDir}/case_${i}`)));
  const out = await new Deno.Command(".venv/bin/python", {
    args: ["export/tf/check_savedmodel.py", ...paths],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const lines = stdout.split("\n").filter((l) => l.startsWith("{"));
  if (!out.success || lines.length !== cases.length) {
    throw new Error(
      `check_savedmodel.py failed (exit ${out.code}):\n${stdout}\n${
        new TextDecoder().decode(out.stderr).slice(-3000)
      }`,
    );
  }
  return lines.map((line) => {
    const report = JSON.parse(line);
    if (report.error) throw new Error(`TensorFlow check failed: ${report.error}\n${report.traceback}`);
    return report;
  });
}

export async function runTfCheck(c: CheckCase, workDir: string): Promise<CheckReport> {
  return (await runTfChecks([c], workDir))[0];
}

export function maxOf(values: Record<string, number | null>): number {
  return Math.max(...Object.values(values).map((v) => (v === null ? Infinity : v)));
}
