/**
 * The full path through TensorFlow (issue 10 §2), every step with the project's own tools:
 *   1. the training pool as TFRecord shards (data/tfrecords.ts; one example per clip and question, in a
 *      seeded order, PNG frames) and the eval set as clips + an MSRVTT-QA-style annotation file;
 *   2. the avqa config exported as a SavedModel in `variables` mode (export/cli.ts's runExport);
 *   3. training by export/tf/driver.py (AdamW, warm-up + cosine; XLA with `jit`) on the CPU;
 *   4. the trained weights loaded back in TypeScript (train/checkpoint.ts), the 500 eval clips answered by
 *      greedy `generate` and scored with `exactMatch` per question type.
 *
 * The driver minimises the export's `train_loss` signature: TypeScript's loss with train = true and a
 * key per step (Threefry in the graph), so TensorFlow trains with the config's Combiner-output masking
 * and dropout, as eager training does.
 */
import { Effect, Stream } from "effect";
import { join, resolve } from "node:path";
import { loadMsrvttQa } from "../../data/datasets/qa_datasets.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import type { Example } from "../../data/types.ts";
import { runExport } from "../../export/cli.ts";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import type { MirasolConfig } from "../../model/config.ts";
import * as model from "../../model/mod.ts";
import { paramShapes } from "../../transforms/param_shapes.ts";
import { type Tree, treeDispose } from "../../transforms/tree.ts";
import * as tf from "@tensorflow/tfjs-core";
import { cacheFolder, type ClipSet } from "./clip_cache.ts";
import { clipMedia, epochOrder, type Modality } from "./examples.ts";
import { type AvqaScores, scoreAvqa } from "./score.ts";
import { type AvqaTask, qaTokens } from "./task.ts";

export type TfPathOptions = {
  readonly config: MirasolConfig;
  readonly pool: ClipSet;
  readonly evalSet: ClipSet;
  readonly tokenizer: Tokenizer;
  readonly task: AvqaTask;
  readonly cacheDir: string;
  readonly out: string;
  readonly steps: number;
  readonly seed: number;
  readonly batchSize?: number;
  readonly lr?: number;
  readonly warmupSteps?: number;
  readonly jit?: boolean;
  readonly python?: string;
  /** which modalities the shards and the scoring keep (ablations); default both */
  readonly modality?: Modality;
  /** where the shards go (default <out>/shards); shards already there for the same pool are reused */
  readonly shardDir?: string;
  readonly write?: (t: string) => void;
};

export type TfPathResult = {
  readonly shards: number;
  readonly examples: number;
  readonly export: string;
  readonly driver: Record<string, unknown>;
  readonly scores: AvqaScores;
  /** wall seconds of each stage */
  readonly seconds: {
    readonly shards: number;
    readonly export: number;
    readonly train: number;
    readonly score: number;
  };
};

/** Every (clip, question) of the pool as an Example, in a seeded order, built lazily (one at a time). */
function* poolExamples(
  pool: ClipSet,
  tok: Tokenizer,
  task: AvqaTask,
  seed: number,
  modality: Modality,
): Generator<Example> {
  const [N, H, W] = pool.frameShape, [F, Mb] = pool.audioShape;
  const perClip = pool.questions[0].length;
  for (const k of epochOrder(seed, 0, pool.scenes.length * perClip)) {
    const c = Math.floor(k / perClip), qa = pool.questions[c][k % perClip];
    const { video, audio } = clipMedia(pool, [c], modality);
    yield {
      id: `${pool.scenes[c].id}/${qa.type}`,
      video,
      videoShape: [N, H, W, 3],
      audio,
      audioShape: [F, Mb],
      mediaMask: new Uint8Array(N).fill(1),
      hasAudio: true,
      fps: task.synthetic.fps,
      ...qaTokens(tok, qa, task),
    };
  }
}

/** The eval questions as an MSRVTT-QA annotation file over the rendered eval clips; returns its path. */
async function writeEvalAnnotations(o: TfPathOptions): Promise<{ annotations: string; videoRoot: string }> {
  const rows = o.evalSet.questions.flat().map((q, i) => ({
    id: i,
    video_id: q.clipId,
    question: q.question,
    answer: q.answer,
    type: q.type,
  }));
  const annotations = join(o.out, "eval_annotations.json");
  await Deno.writeTextFile(annotations, JSON.stringify(rows));
  return { annotations, videoRoot: join(cacheFolder(o.cacheDir, o.task), "clips") };
}

const seconds = (t0: number) => (performance.now() - t0) / 1000;

/** Runs the four steps; see the module comment. */
export async function runTfPath(o: TfPathOptions): Promise<TfPathResult> {
  const write = o.write ?? ((t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)));
  const B = o.batchSize ?? 16;
  await Deno.mkdir(o.out, { recursive: true });

  let t0 = performance.now();
  const modality = o.modality ?? "both";
  const shardDir = o.shardDir ?? join(o.out, "shards");
  const stamp = JSON.stringify({
    pool: o.pool.scenes.map((s) => s.id),
    seed: o.seed,
    modality,
    length: o.task.textLength,
  });
  const previous = await Deno.readTextFile(join(shardDir, "written.json")).catch(() => "");
  let report: { shards: readonly string[]; examples: number };
  if (previous.startsWith(stamp.slice(0, -1))) {
    report = JSON.parse(previous).report;
  } else {
    await Deno.remove(shardDir, { recursive: true }).catch(() => {});
    report = await Effect.runPromise(
      writeTFRecords(
        Stream.fromIterable(poolExamples(o.pool, o.tokenizer, o.task, o.seed, modality)),
        shardDir,
        {
          shardSize: 500,
          video: "png",
        },
      ),
    );
    await Deno.writeTextFile(
      join(shardDir, "written.json"),
      stamp.slice(0, -1) + `,"report":${JSON.stringify(report)}}`,
    );
  }
  const evalFiles = await writeEvalAnnotations(o);
  const items = await Effect.runPromise(loadMsrvttQa(evalFiles)); // the annotations read back as a dataset
  if (items.length !== o.evalSet.questions.flat().length) {
    throw new Error(
      `Cannot use the eval annotations: ${items.length} items read back, ${o.evalSet.questions.flat().length} written`,
    );
  }
  const shardSeconds = seconds(t0);
  write(
    `tf path: ${report.examples} examples in ${report.shards.length} shards, ${items.length} eval questions (${
      shardSeconds.toFixed(0)
    } s)\n`,
  );

  t0 = performance.now();
  const exportDir = join(o.out, "savedmodel");
  const exported = await runExport({
    config: o.config,
    out: exportDir,
    format: "savedmodel",
    params: "variables",
    batch: B,
    textLength: o.task.textLength,
    dtype: "float32",
    seed: o.seed,
    overwrite: true,
  });
  const exportSeconds = seconds(t0);
  write(`tf path: ${exported} (${exportSeconds.toFixed(0)} s)\n`);

  t0 = performance.now();
  const runDir = join(o.out, "run");
  await Deno.remove(runDir, { recursive: true }).catch(() => {});
  const args = [
    "export/tf/driver.py",
    ...["--savedmodel", exportDir, "--data", join(shardDir, "*.tfrecord"), "--out", runDir],
    ...["--steps", String(o.steps), "--lr", String(o.lr ?? 1e-3), "--schedule", "cosine"],
    ...[
      "--warmup-steps",
      String(o.warmupSteps ?? Math.min(100, Math.floor(o.steps / 10))),
      "--weight-decay",
      "1e-4",
    ],
    ...["--seed", String(o.seed), "--log-every", "50", "--checkpoint-every", String(o.steps)],
    ...(o.jit ? ["--jit"] : []),
  ];
  write(`tf path: ${o.python ?? ".venv/bin/python"} ${args.join(" ")}\n`);
  const proc = await new Deno.Command(resolve(o.python ?? ".venv/bin/python"), {
    args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const stdout = new TextDecoder().decode(proc.stdout).trim();
  if (!proc.success) {
    throw new Error(`Cannot train in TensorFlow: driver.py exited with ${proc.code}: ${stdout.slice(-2000)}`);
  }
  const driver = JSON.parse(stdout.split("\n").at(-1)!) as Record<string, unknown>;
  const trainSeconds = seconds(t0);
  write(
    `tf path: trained ${driver.steps} steps in ${trainSeconds.toFixed(0)} s (driver: ${driver.seconds} s)\n`,
  );

  t0 = performance.now();
  const loaded = await loadCheckpoint(runDir, { like: { params: paramShapes(model.init, o.config) } });
  const params = loaded.params as unknown as model.MirasolParams;
  let scores: AvqaScores;
  try {
    scores = scoreAvqa(params, o.evalSet, {
      config: o.config,
      tokenizer: o.tokenizer,
      task: o.task,
      modality,
    });
  } finally {
    treeDispose(params as unknown as Tree<tf.Tensor>);
  }
  return {
    shards: report.shards.length,
    examples: report.examples,
    export: exported,
    driver,
    scores,
    seconds: { shards: shardSeconds, export: exportSeconds, train: trainSeconds, score: seconds(t0) },
  };
}
