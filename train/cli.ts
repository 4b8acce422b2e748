/**
 * `deno task train`: trains a Mirasol3B config from the command line (see USAGE). Exit codes: 0 done
 * (also after a Ctrl-C stop, which saves), 1 training failed (a message says why), 2 bad usage.
 */
import { parseArgs } from "node:util";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, BACKENDS, setBackend } from "../transforms/backend.ts";
import { treeDispose } from "../transforms/tree.ts";
import { batchTensors, disposeBatch } from "./batch_tensors.ts";
import { configs, type MirasolConfig, requireAudio } from "../model/config.ts";
import { decodeConfig } from "../model/config_decode.ts";
import { loss, type MirasolParams } from "../model/mirasol.ts";
import { train, type TrainOptions } from "./loop.ts";
import { tfrecordBatches } from "../data/tfrecord_batches.ts";
import type { Batch } from "../data/types.ts";
import { syntheticBatches } from "./sources.ts";
import { loadInitParams, type Stage, stageConfig, STAGES } from "./stages.ts";

export const USAGE = `Train a Mirasol3B model.

Usage: deno task train --config <name|file.json> --data <spec> --out <dir> [options]

  --config <c>            tiny | small | base | avqa | paper3b, or a config JSON file
  --data <spec>           synthetic       seeded random clips with a learnable caption, new each step
                          synthetic:N     the same, a fixed set of N clips cycled
                          <dir>           a folder of *.tfrecord shards (data/tfrecords.ts, float video)
  --out <dir>             checkpoints (<dir>/ckpt, <dir>/best), metrics.jsonl, run.json
  --steps <n>             total updates (default 1000)
  --batch <n>             examples per batch (default 8)
  --lr <x>                peak learning rate, warm-up + cosine decay (default 1e-3)
  --seed <n>              init, dropout, masking and data order (default 0)
  --resume                continue from <dir>/ckpt (same hyperparameters)
  --warmup <n>            warm-up steps (default min(100, steps/10))
  --weight-decay <x>      AdamW decoupled weight decay (default 1e-4)
  --clip <x>              global gradient-norm clipping, 0 = off (default 1)
  --log-every <n>         a metrics row and log line every n steps (default 10)
  --eval-every <n>        loss on a held-out batch every n steps, keeps <dir>/best (default 0: off)
  --checkpoint-every <n>  save <dir>/ckpt every n steps (default 100; always at the end)
  --backend <b>           wasm | cpu | webgpu (default wasm)
  --stage <s>             pretrain: loss weights latent = reconstruction = text = 1; finetune: text x10
                          (paper §3.6; default: the config's weights)
  --init-from <dir>       start from the params of this checkpoint (a pretraining run's <out>/ckpt, or
                          the TF driver's --out), with a fresh optimizer; a resumed checkpoint wins
  -h, --help              this text

Ctrl-C stops after the current step and saves the checkpoint; a second Ctrl-C quits at once.
`;

export class UsageError extends Error {
  override readonly name = "UsageError";
}

export type CliArgs = {
  readonly config: string;
  readonly data: string;
  readonly out: string;
  readonly steps: number;
  readonly batch: number;
  readonly lr: number;
  readonly seed: number;
  readonly resume: boolean;
  readonly warmup?: number;
  readonly weightDecay?: number;
  readonly clip?: number;
  readonly logEvery: number;
  readonly evalEvery: number;
  readonly checkpointEvery: number;
  readonly backend: BackendName;
  readonly stage?: Stage;
  readonly initFrom?: string;
};

const STRING_FLAGS = [
  "config",
  "data",
  "out",
  "steps",
  "batch",
  "lr",
  "seed",
  "warmup",
  "weight-decay",
  "clip",
  "log-every",
  "eval-every",
  "checkpoint-every",
  "backend",
  "stage",
  "init-from",
] as const;

function number(
  flag: string,
  text: string | undefined,
  fallback: number,
  kind: "int" | "nonneg-int" | "real",
): number {
  if (text === undefined) return fallback;
  const v = Number(text);
  const ok = text.trim() !== "" && Number.isFinite(v) &&
    (kind === "real" ? v >= 0 : Number.isInteger(v) && v >= (kind === "int" ? 1 : 0));
  if (!ok) {
    const want = kind === "real"
      ? "a non-negative number"
      : kind === "int"
      ? "a positive integer"
      : "a non-negative integer";
    throw new UsageError(`Cannot use --${flag} ${JSON.stringify(text)}: expected ${want}`);
  }
  return v;
}

/** Parses the flags; `help` when -h/--help was given. Throws UsageError naming the bad flag. */
export function parseCliArgs(args: readonly string[]): CliArgs | "help" {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...args],
      strict: true,
      allowPositionals: true,
      options: {
        ...Object.fromEntries(STRING_FLAGS.map((f) => [f, { type: "string" as const }])),
        resume: { type: "boolean" },
        help: { type: "boolean", short: "h" },
      },
    }));
  } catch (e) {
    throw new UsageError((e as Error).message.replace(/\. To specify a positional.*$/s, ""));
  }
  if (values.help) return "help";
  if (positionals.length > 0) {
    throw new UsageError(`Cannot use argument ${JSON.stringify(positionals[0])}: flags only`);
  }
  const str = (f: string) => values[f] as string | undefined;
  for (const f of ["config", "data", "out"]) {
    if (!str(f)) throw new UsageError(`Cannot train: --${f} is required`);
  }
  const backend = (str("backend") ?? "wasm") as BackendName;
  if (!BACKENDS.includes(backend)) {
    throw new UsageError(
      `Cannot use --backend ${JSON.stringify(backend)}: expected one of ${BACKENDS.join(", ")}`,
    );
  }
  const stage = str("stage") as Stage | undefined;
  if (stage !== undefined && !STAGES.includes(stage)) {
    throw new UsageError(`Cannot use --stage ${JSON.stringify(stage)}: expected one of ${STAGES.join(", ")}`);
  }
  if (str("init-from") === "") {
    throw new UsageError(`Cannot use --init-from "": expected a checkpoint folder`);
  }
  const optional = (f: string, kind: "nonneg-int" | "real") =>
    str(f) === undefined ? undefined : number(f, str(f), 0, kind);
  const lr = number("lr", str("lr"), 1e-3, "real");
  if (lr === 0) throw new UsageError(`Cannot use --lr 0: expected a positive number`);
  return {
    config: str("config")!,
    data: str("data")!,
    out: str("out")!,
    steps: number("steps", str("steps"), 1000, "int"),
    batch: number("batch", str("batch"), 8, "int"),
    lr,
    seed: number("seed", str("seed"), 0, "nonneg-int"),
    resume: values.resume === true,
    warmup: optional("warmup", "nonneg-int"),
    weightDecay: optional("weight-decay", "real"),
    clip: optional("clip", "real"),
    logEvery: number("log-every", str("log-every"), 10, "int"),
    evalEvery: number("eval-every", str("eval-every"), 0, "nonneg-int"),
    checkpointEvery: number("checkpoint-every", str("checkpoint-every"), 100, "int"),
    backend,
    stage,
    initFrom: str("init-from"),
  };
}

/** A preset by name, or a config JSON file (checked by validateConfig). */
export async function resolveConfig(spec: string): Promise<MirasolConfig> {
  if (spec in configs) return configs[spec as keyof typeof configs];
  if (!spec.endsWith(".json")) {
    throw new UsageError(
      `Cannot use --config ${JSON.stringify(spec)}: expected ${
        Object.keys(configs).join(", ")
      } or a .json file`,
    );
  }
  let text: string;
  try {
    text = await Deno.readTextFile(spec);
  } catch (e) {
    throw new UsageError(`Cannot read --config file '${spec}': ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`Cannot use --config file '${spec}': not JSON (${(e as Error).message})`);
  }
  try {
    return decodeConfig(json, `--config file '${spec}'`);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
}

/** --data spec -> a batch function of the step (the held-out eval batch uses another seed). */
export async function resolveData(spec: string, config: MirasolConfig, batchSize: number, seed: number) {
  const synthetic = /^synthetic(?::(\d+))?$/.exec(spec);
  if (synthetic) {
    const pool = synthetic[1] === undefined ? undefined : Number(synthetic[1]);
    if (pool === 0) throw new UsageError(`Cannot use --data ${spec}: the pool needs at least one clip`);
    return syntheticBatches(config, { batchSize, seed, pool });
  }
  if (spec.startsWith("synthetic")) {
    throw new UsageError(`Cannot use --data ${JSON.stringify(spec)}: expected synthetic or synthetic:N`);
  }
  const info = await Deno.stat(spec).catch(() => undefined);
  if (!info?.isDirectory) {
    throw new UsageError(
      `Cannot use --data ${JSON.stringify(spec)}: not a folder of *.tfrecord shards, nor synthetic[:N]`,
    );
  }
  // Shards are read with the audio layout they were written with, so training on them needs one.
  const layout = { ...config, audio: requireAudio(config, `train on the shards in ${spec}`) };
  return await tfrecordBatches(spec, layout, { batchSize, seed });
}

/** The loss terms (train: false) on one fixed held-out batch. */
function heldOutEval(config: MirasolConfig, batchSize: number, seed: number): TrainOptions["evalFn"] {
  const batch = syntheticBatches(config, { batchSize, seed: seed + 1_000_003 })(0);
  return (params: MirasolParams) => {
    const t = batchTensors(batch, config);
    try {
      return tf.tidy(() => {
        const l = loss(params, t, { config, train: false });
        return {
          loss: l.total.dataSync()[0],
          latent: l.latent.dataSync()[0],
          reconstruction: l.reconstruction.dataSync()[0],
          text: l.text.dataSync()[0],
        };
      });
    } finally {
      disposeBatch(t);
    }
  };
}

/** Runs the CLI; returns the exit code. */
export async function main(args: readonly string[]): Promise<number> {
  let a: CliArgs | "help";
  let config: MirasolConfig;
  let data: (step: number) => Batch;
  let params: MirasolParams | undefined;
  try {
    a = parseCliArgs(args);
    if (a === "help") {
      console.log(USAGE);
      return 0;
    }
    config = await resolveConfig(a.config);
    if (a.stage !== undefined) config = stageConfig(config, a.stage);
    data = await resolveData(a.data, config, a.batch, a.seed);
  } catch (e) {
    // one line either way: a bad flag is usage (2); a folder that holds no shards is a failure (1)
    if (!(e instanceof UsageError)) {
      console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      return 1;
    }
    console.error(`error: ${e.message} (run with --help for usage)`);
    return 2;
  }
  if (a.evalEvery > 0 && !a.data.startsWith("synthetic")) {
    console.error("warning: --eval-every has no held-out set for shard data yet; evaluation is off");
  }
  try {
    await setBackend(a.backend);
    if (a.initFrom !== undefined) params = await loadInitParams(a.initFrom, config);
    const result = await train({
      config,
      params,
      data,
      steps: a.steps,
      batchSize: a.batch,
      lr: a.lr,
      seed: a.seed,
      out: a.out,
      resume: a.resume,
      warmupSteps: a.warmup,
      weightDecay: a.weightDecay,
      clipNorm: a.clip,
      logEvery: a.logEvery,
      evalEvery: a.evalEvery,
      checkpointEvery: a.checkpointEvery,
      evalFn: a.evalEvery > 0 && a.data.startsWith("synthetic")
        ? heldOutEval(config, a.batch, a.seed)
        : undefined,
    });
    if (params) treeDispose(params);
    treeDispose(result.params);
    treeDispose(result.optState);
    console.log(`${result.stopped} at step ${result.step}: checkpoint in ${a.out}/ckpt`);
    return 0;
  } catch (e) {
    console.error(`error: ${(e as Error).message}`);
    return 1;
  }
}

if (import.meta.main) Deno.exit(await main(Deno.args));
