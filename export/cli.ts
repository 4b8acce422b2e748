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
import { ExportSpecError, ExportWriteError } from "./savedmodel/errors.ts";
import { exportSavedModel } from "./savedmodel/export.ts";
import type { ComputeDtype } from "./savedmodel/lower.ts";
import { mirasolSignatures } from "./savedmodel/mirasol.ts";

const USAGE =
  "usage: deno task export --config <name> --out <dir> [--format savedmodel|graphmodel] [--params variables|inputs] " +
  "[--checkpoint <dir>] [--frames N --chunks T] [--batch N] [--text-length L] [--dtype float32|bfloat16] [--seed N] [--overwrite]";

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

function oneOf<T extends string>(
  name: string,
  value: string | undefined,
  allowed: readonly T[],
  fallback: T,
): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) {
    throw new ExportSpecError({ reason: `--${name} must be one of ${allowed.join(", ")}, got '${value}'` });
  }
  return value as T;
}

function integer(name: string, value: string | undefined, fallback: number, min: 0 | 1): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === "" || !Number.isSafeInteger(n) || n < min) {
    throw new ExportSpecError({
      reason: `--${name} must be a ${min === 1 ? "positive" : "non-negative"} integer, got '${value}'`,
    });
  }
  return n;
}

/** A preset name or a config JSON file (decoded by model/config_decode.ts). */
function resolveConfig(spec: string | undefined): model.MirasolConfig {
  const configs = model.configs as Record<string, model.MirasolConfig>;
  if (spec !== undefined && spec in configs) return configs[spec];
  if (spec === undefined || !spec.endsWith(".json")) {
    throw new ExportSpecError({
      reason: `--config must name one of ${Object.keys(configs).join(", ")} or a .json file, got '${
        spec ?? ""
      }'. ${USAGE}`,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(Deno.readTextFileSync(spec));
  } catch (e) {
    throw new ExportSpecError({ reason: `Cannot read --config file '${spec}': ${(e as Error).message}` });
  }
  try {
    return model.decodeConfig(json, `--config file '${spec}'`);
  } catch (e) {
    throw new ExportSpecError({ reason: (e as Error).message });
  }
}

export function parseExportArgs(argv: readonly string[]): ExportArgs {
  let values;
  try {
    ({ values } = parseArgs({
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
        frames: { type: "string" },
        chunks: { type: "string" },
      },
      strict: true,
    }));
  } catch (e) {
    // node:util says why (an unknown or valueless flag) as a TypeError; it is a usage error here
    throw new ExportSpecError({ reason: `${(e as Error).message}. ${USAGE}` });
  }
  let config = resolveConfig(values.config);
  if (!values.out) throw new ExportSpecError({ reason: `--out is required. ${USAGE}` });
  if (values.frames !== undefined || values.chunks !== undefined) {
    const frames = integer("frames", values.frames, config.video.frames, 1);
    const chunks = integer("chunks", values.chunks, config.video.chunks, 1);
    try {
      config = model.withFrames(config, frames, chunks);
    } catch (e) {
      throw new ExportSpecError({
        reason: `Cannot use --frames ${frames} --chunks ${chunks}: ${(e as Error).message}`,
      });
    }
  }
  const params = oneOf("params", values.params, ["variables", "inputs"] as const, "variables");
  const format = oneOf("format", values.format, ["savedmodel", "graphmodel"] as const, "savedmodel");
  if (values.checkpoint !== undefined && params === "inputs" && format === "savedmodel") {
    throw new ExportSpecError({
      reason: "--checkpoint cannot be used with --params inputs: that export holds no weights",
    });
  }
  if (values.checkpoint !== undefined) {
    const info = (() => {
      try {
        return Deno.statSync(values.checkpoint!);
      } catch {
        return undefined;
      }
    })();
    if (!info?.isDirectory) {
      throw new ExportSpecError({
        reason: `--checkpoint '${values.checkpoint}' is not a checkpoint folder (${
          info ? "a file" : "not found"
        })`,
      });
    }
  }
  return {
    config,
    out: values.out,
    format,
    params,
    checkpoint: values.checkpoint,
    batch: integer("batch", values.batch, 2, 1),
    textLength: integer("text-length", values["text-length"], Math.min(8, config.text.maxLength), 1),
    dtype: oneOf("dtype", values.dtype, ["float32", "bfloat16"] as const, "float32"),
    seed: integer("seed", values.seed, 0, 0),
    overwrite: values.overwrite ?? false,
  };
}

/**
 * Refuses an --out that holds anything (a user's files, an earlier export) unless --overwrite,
 * before the model is built: a refusal costs nothing and touches nothing. An empty folder is fine.
 */
function refuseOccupiedOut(out: string, overwrite: boolean): void {
  if (overwrite) return;
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(out);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return;
    throw new ExportWriteError({ path: out, reason: e instanceof Error ? e.message : String(e) });
  }
  const reason = !info.isDirectory
    ? "it is a file"
    : [...Deno.readDirSync(out)].length > 0
    ? "the folder is not empty"
    : undefined;
  if (reason) throw new ExportWriteError({ path: out, reason: `${reason} (pass --overwrite to replace it)` });
}

/** Runs one export as the CLI would; returns a one-line summary. */
export async function runExport(a: ExportArgs): Promise<string> {
  refuseOccupiedOut(a.out, a.overwrite);
  const shapes = { batch: a.batch, textLength: a.textLength };
  const needWeights = a.format === "graphmodel" || a.params === "variables";
  const params = !needWeights
    ? paramShapes(model.init, a.config)
    : a.checkpoint
    ? (await loadCheckpoint(a.checkpoint, { like: { params: paramShapes(model.init, a.config) } }))
      .params as model.MirasolParams
    : model.init(PRNGKey(a.seed), a.config);
  const signatures = mirasolSignatures(a.config, shapes);
  if (a.format === "graphmodel") {
    const r = await Effect.runPromise(
      exportGraphModel(
        {
          params: params as model.MirasolParams,
          fn: signatures.forward.fn,
          inputs: signatures.forward.inputs,
        },
        a.out,
        { overwrite: a.overwrite },
      ),
    );
    return `graph model ${r.dir}: ${r.nodes} nodes, ${(r.weightBytes / 2 ** 20).toFixed(1)} MiB of weights`;
  }
  const r = await Effect.runPromise(exportSavedModel<model.MirasolParams>(
    {
      params,
      signatures,
      paramMode: a.params,
      computeDtype: a.dtype,
      config: a.config,
    },
    a.out,
    { overwrite: a.overwrite },
  ));
  const sigs = Object.entries(r.signatures).map(([k, s]) =>
    `${k}(${s.inputs.filter((i) => !i.includes("__")).join(", ")}) ${s.nodes} nodes`
  ).join("; ");
  return `SavedModel ${r.dir} [${r.paramMode}, ${a.dtype}]: ${r.variables} variables, ${
    (r.bytes / 2 ** 20).toFixed(1)
  } MiB; ${sigs}`;
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
