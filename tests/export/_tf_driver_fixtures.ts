/**
 * What the TensorFlow driver tests share: `tiny` exported in variables mode, TFRecord shards of a
 * learnable synthetic task written by data/tfrecords.ts, and running export/tf/driver.py.
 *
 * The task: example i has colour class c = i % 4; its video is tinted by c and its caption is a
 * token sequence fixed by c, so the caption is predictable from the video and 20 Adam steps lower
 * the loss. Letters: N frames, H/W frame size, F spectrogram columns, Mb mel bins, L text length.
 */
import * as tf from "@tensorflow/tfjs-core";
import { Effect, Stream } from "effect";
import { writeTFRecords } from "../../data/tfrecords.ts";
import type { Example } from "../../data/types.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import type { MirasolBatch, MirasolConfig, MirasolParams } from "../../model/mod.ts";
import * as model from "../../model/mod.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { treeShapes } from "../../transforms/tree.ts";

export const config: MirasolConfig = model.tiny;
export const BATCH = 2; // per replica: the exported signatures' static batch
export const TEXT_LENGTH = 16;

export function syntheticExample(i: number, c: MirasolConfig = config): Example {
  const { frames: N, height: H, width: W } = c.video;
  const F = N * c.audio!.columnsPerFrame, Mb = c.audio!.melBins, L = TEXT_LENGTH;
  const cls = i % 4;
  const video = new Float32Array(N * H * W * 3).map((_, j) =>
    (j % 3 === cls % 3 ? 0.8 : 0.2) + (cls === 3 ? 0.1 : 0)
  ); // [N, H, W, 3]
  const audio = new Float32Array(F * Mb).map((_, j) => Math.sin((j + 1) * (cls + 1) * 0.3)); // [F, Mb]
  const words = 7;
  const text = new Int32Array(L).map((
    _,
    l,
  ) => (l < words ? 4 + ((cls * 7 + l * (cls + 1)) % (c.text.vocab - 4)) : 0));
  const textMask = new Uint8Array(L).map((_, l) => (l < words ? 1 : 0));
  return {
    id: `synthetic-${i}`,
    video,
    videoShape: [N, H, W, 3],
    audio,
    audioShape: [F, Mb],
    mediaMask: new Uint8Array(N).fill(1),
    hasAudio: true,
    fps: 25,
    text,
    textMask,
    lossMask: textMask,
  };
}

/** Examples [from, from + B) as the model's input tensors. */
export function batchOf(examples: readonly Example[]): MirasolBatch {
  const B = examples.length;
  const cat = <T extends Float32Array | Int32Array | Uint8Array>(
    k: "video" | "audio" | "text" | "textMask" | "lossMask",
  ) => examples.flatMap((e) => Array.from(e[k] as T));
  const [N, H, W] = examples[0].videoShape, [F, Mb] = examples[0].audioShape, L = examples[0].text.length;
  return {
    video: tf.tensor(cat("video"), [B, N, H, W, 3]),
    audio: tf.tensor(cat("audio"), [B, F, Mb]),
    text: tf.tensor(cat("text"), [B, L], "int32"),
    textMask: tf.tensor(cat("textMask"), [B, L]),
    lossMask: tf.tensor(cat("lossMask"), [B, L]),
  };
}

export async function writeShards(
  dir: string,
  examples: readonly Example[],
  video: "float" | "png" = "float",
): Promise<string[]> {
  const report = await Effect.runPromise(
    writeTFRecords(Stream.fromIterable(examples), dir, { shardSize: 3, video }),
  );
  return [...report.shards];
}

/**
 * Exports `tiny` (batch BATCH) to `dir` and writes its config to `dir`.config.json. `inputs` mode
 * exports shapes only; the returned params then only give the tree the trained weights load into.
 */
export async function exportTiny(
  dir: string,
  paramMode: "variables" | "inputs" = "variables",
): Promise<{ params: MirasolParams; configPath: string }> {
  const params = model.init(PRNGKey(0), config);
  const signatures = mirasolSignatures(config, { batch: BATCH, textLength: TEXT_LENGTH });
  await Effect.runPromise(
    exportSavedModel<MirasolParams>(
      paramMode === "variables"
        ? { params, signatures }
        : { params: treeShapes(params), signatures, paramMode },
      dir,
    ),
  );
  const configPath = `${dir}.config.json`;
  await Deno.writeTextFile(configPath, JSON.stringify(config));
  return { params, configPath };
}

export type DriverRun = {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly summary: Record<string, unknown> | null;
};

export function driverCommand(args: readonly string[], env: Record<string, string> = {}): Deno.Command {
  return new Deno.Command(".venv/bin/python", {
    args: ["export/tf/driver.py", ...args],
    env: { TF_CPP_MIN_LOG_LEVEL: "3", ...env },
    stdout: "piped",
    stderr: "piped",
  });
}

export function driverResult(out: Deno.CommandOutput): DriverRun {
  const stdout = new TextDecoder().decode(out.stdout).trim();
  const last = stdout.split("\n").filter((l) => l.startsWith("{")).at(-1);
  return {
    code: out.code,
    stdout,
    stderr: new TextDecoder().decode(out.stderr),
    summary: last ? JSON.parse(last) : null,
  };
}

/** Runs the driver to completion; throws with its output when it fails. */
export async function runDriver(args: readonly string[]): Promise<DriverRun> {
  const run = driverResult(await driverCommand(args).output());
  if (run.code !== 0 || !run.summary) {
    throw new Error(`driver.py failed (exit ${run.code}):\n${run.stdout}\n${run.stderr.slice(-4000)}`);
  }
  return run;
}

export type MetricsLine = {
  readonly step: number;
  readonly total: number;
  readonly text: number;
  readonly lr: number;
} & Record<string, number>;

export async function readMetrics(path: string): Promise<MetricsLine[]> {
  return (await Deno.readTextFile(path)).trim().split("\n").map((l) => JSON.parse(l));
}

export const mean = (xs: readonly number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
