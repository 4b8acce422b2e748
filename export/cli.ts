/**
 * `deno task export`: exports a Mirasol3B config as a TF SavedModel or a tfjs graph model.
 *
 *   deno task export --config tiny --out out/tiny_sm --format savedmodel --params variables \
 *     [--checkpoint ckpt_dir] [--batch 2] [--text-length 8] [--dtype float32|bfloat16] [--seed 0] [--overwrite]
 *
 * `variables` mode writes the weights of `--checkpoint` (train/checkpoint.ts), or of a fresh
 * init(seed) when none is given; `inputs` mode writes no weights (TF creates them with init(seed)),
 * which is how the paper3b config is exported. A graph model carries the `forward` signature.
 */
import { parseArgs } from "node:util";
import { Effect } from "effect";
import * as model from "../model/mod.ts";
import { loadCheckpoint } from "../train/checkpoint.ts";
import { setBackend } from "../transforms/backend.ts";
import { paramShapes } from "../transforms/param_shapes.ts";
import { PRNGKey } from "../transforms/random.ts";
import { exportGraphModel } from "./graphmodel.ts";
import { ExportSpecError } from "./savedmodel/errors.ts";
import { exportSavedModel } from "./savedmodel/export.ts";
import type { ComputeDtype } from "./savedmodel/lower.ts";
import { mirasolSignatures } from "./savedmodel/mirasol.ts";

const USAGE = "usage: deno task export --config <name> --out <dir> [--format savedmodel|graphmodel] [--params variables|inputs] " +
  "[--checkpoint <dir>] [--batch N] [--text-length L] [--dtype float32|bfloat16] [--seed N] [--overwrite]";

export type ExportArgs = {
  readonly config: model.MirasolConfig;
  readonly out: string;
  readonly format: "savedmodel" | "graphmodel";
  readonly params: "variables" | "inputs";
  readonly checkpoint?: string;
  readonly batch: number;
  readonly textLength: number;
  readonly dtype: ComputeDtype;
  readonly seed: number;
  readonly overwrite: boolean;
};

function oneOf<T extends string>(name: string, value: string | undefined, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new ExportSpecError({ reason: `--${name} must be one of ${allowed.join(", ")}, got '${value}'` });
  return value as T;
}

function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new ExportSpecError({ reason: `--${name} must be a non-negative integer, got '${value}'` });
  return n;
}

export function parseExportArgs(argv: readonly string[]): ExportArgs {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      config: { type: "string" },
      out: { type: "string" },
      format: { type: "string" },
      params: { type: "string" },
      checkpoint: { type: "string" },
      batch: { type: "string" },
      "text-length": { type: "string" },
      dtype: { type: "string" },
      seed: { type: "string" },
      overwrite: { type: "boolean" },
    },
    strict: true,
  });
  const configs = model.configs as Record<string, model.MirasolConfig>;
  if (!values.config || !(values.config in configs)) {
    throw new ExportSpecError({ reason: `--config must name one of ${Object.keys(configs).join(", ")}, got '${values.config ?? ""}'. ${USAGE}` });
  }
  if (!values.out) throw new ExportSpecError({ reason: `--out is required. ${USAGE}` });
  const config = configs[values.config];
  return {
    config,
    out: values.out,
    format: oneOf("format", values.format, ["savedmodel", "graphmodel"] as const, "savedmodel"),
    params: oneOf("params", values.params, ["variables", "inputs"] as const, "variables"),
    checkpoint: values.checkpoint,
    batch: positiveInt("batch", values.batch, 2),
    textLength: positiveInt("text-length", values["text-length"], Math.min(8, config.text.maxLength)),
    dtype: oneOf("dtype", values.dtype, ["float32", "bfloat16"] as const, "float32"),
    seed: positiveInt("seed", values.seed, 0),
    overwrite: values.overwrite ?? false,
  };
}

/** Runs one export as the CLI would; returns a one-line summary. */
export async function runExport(a: ExportArgs): Promise<string> {
  const shapes = { batch: a.batch, textLength: a.textLength };
  const needWeights = a.format === "graphmodel" || a.params === "variables";
  const params = !needWeights
    ? paramShapes(model.init, a.config)
    : a.checkpoint
    ? (await loadCheckpoint(a.checkpoint, { like: { params: paramShapes(model.init, a.config) } })).params as model.MirasolParams
    : model.init(PRNGKey(a.seed), a.config);
  const signatures = mirasolSignatures(a.config, shapes);
  if (a.format === "graphmodel") {
    const r = await Effect.runPromise(exportGraphModel({ params: params as model.MirasolParams, fn: signatures.forward.fn, inputs: signatures.forward.inputs }, a.out, { overwrite: a.overwrite }));
    return `graph model ${r.dir}: ${r.nodes} nodes, ${(r.weightBytes / 2 ** 20).toFixed(1)} MiB of weights`;
  }
  const r = await Effect.runPromise(exportSavedModel<model.MirasolParams>({
    params,
    signatures,
    paramMode: a.params,
    computeDtype: a.dtype,
    config: a.config,
  }, a.out, { overwrite: a.overwrite }));
  const sigs = Object.entries(r.signatures).map(([k, s]) => `${k}(${s.inputs.filter((i) => !i.includes("__")).join(", ")}) ${s.nodes} nodes`).join("; ");
  return `SavedModel ${r.dir} [${r.paramMode}, ${a.dtype}]: ${r.variables} variables, ${(r.bytes / 2 ** 20).toFixed(1)} MiB; ${sigs}`;
}

if (import.meta.main) {
  if (Deno.args.includes("--help") || Deno.args.includes("-h")) {
    console.log(USAGE);
    Deno.exit(0);
  }
  try {
    await setBackend("wasm");
    console.log(await runExport(parseExportArgs(Deno.args)));
  } catch (e) {
    console.error(e instanceof Error ? e.message : String(e));
    // a bad flag is a usage error (2); a failed export (bad checkpoint, unwritable folder) is 1
    Deno.exit(e instanceof ExportSpecError || (e instanceof TypeError && /option/i.test(e.message)) ? 2 : 1);
  }
}
