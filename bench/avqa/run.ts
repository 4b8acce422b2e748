/**
 * One eager training run on the task: train/loop.ts (AdamW, linear warm-up + cosine decay, global-norm
 * clipping) on the seeded training batches, scored on the eval set every `evalEvery` steps by greedy
 * generation + exact match, keeping the best checkpoint by the mean exact match over the four types.
 * A wall-clock budget stops the run early (after the current step; the run is then scored once more).
 *
 *   <out>/best/  <out>/ckpt/  <out>/metrics.jsonl  <out>/run.json   (train/loop.ts)
 *   <out>/result.json                                                  (this file: the row of a table)
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import type { MirasolConfig } from "../../model/config.ts";
import type { MirasolParams } from "../../model/mirasol.ts";
import { train } from "../../train/loop.ts";
import { type Tree, treeDispose } from "../../transforms/tree.ts";
import type { ClipSet } from "./clip_cache.ts";
import { type Modality, trainBatches } from "./examples.ts";
import { type AvqaScores, evalNumbers, scoreAvqa } from "./score.ts";
import type { AvqaTask } from "./task.ts";

export type AvqaRunOptions = {
  readonly name: string;
  readonly config: MirasolConfig;
  readonly out: string;
  readonly pool: ClipSet;
  readonly evalSet: ClipSet;
  readonly tokenizer: Tokenizer;
  readonly task: AvqaTask;
  /** planned updates: the cosine reaches 0 here */
  readonly steps: number;
  readonly seed: number;
  /** issue 10: 16 clips */
  readonly batchSize?: number;
  /** issue 10: 1e-3 */
  readonly lr?: number;
  readonly warmupSteps?: number;
  readonly modality?: Modality;
  /** score on the eval set every N steps (and at the end) */
  readonly evalEvery: number;
  /** score only the first `evalClips` eval clips during training (default all) */
  readonly evalClips?: number;
  /** stop after this many seconds of wall time (training + scoring) */
  readonly wallSeconds?: number;
  readonly write?: (text: string) => void;
};

export type AvqaRunResult = {
  readonly name: string;
  readonly config: string;
  readonly modality: Modality;
  readonly seed: number;
  readonly plannedSteps: number;
  readonly steps: number;
  readonly stopped: string;
  /** wall seconds of the whole run, and of its training steps only (scoring excluded) */
  readonly wallSeconds: number;
  readonly trainSeconds: number;
  readonly stepsPerSecond: number;
  readonly best: { readonly step: number; readonly scores: AvqaScores };
  /** every scoring during the run, in order (without their `predictions`) */
  readonly evals: readonly { readonly step: number; readonly scores: AvqaScores }[];
};

/** Trains, scores and returns the run's row; also writes it to `<out>/result.json`. */
export async function runAvqa(o: AvqaRunOptions): Promise<AvqaRunResult> {
  const modality = o.modality ?? "both";
  const score = (p: MirasolParams) =>
    scoreAvqa(p, o.evalSet, {
      config: o.config,
      tokenizer: o.tokenizer,
      task: o.task,
      modality,
      limit: o.evalClips,
    });
  const evals: { step: number; scores: AvqaScores }[] = [];
  let scoringMs = 0;
  const evalFn = (p: MirasolParams, ctx: { step: number }) => {
    const t0 = performance.now();
    const scores = score(p);
    scoringMs += performance.now() - t0;
    evals.push({ step: ctx.step, scores });
    return evalNumbers(scores);
  };
  const stop = new AbortController();
  const timer = o.wallSeconds ? setTimeout(() => stop.abort(), o.wallSeconds * 1000) : undefined;
  const started = performance.now();
  let result;
  try {
    result = await train({
      config: o.config,
      data: trainBatches(o.pool, {
        seed: o.seed,
        batchSize: o.batchSize ?? 16,
        tokenizer: o.tokenizer,
        task: o.task,
        modality,
      }),
      steps: o.steps,
      batchSize: o.batchSize ?? 16,
      lr: o.lr ?? 1e-3,
      warmupSteps: o.warmupSteps,
      seed: o.seed,
      out: o.out,
      evalEvery: o.evalEvery,
      evalFn,
      best: { metric: "mean", mode: "max" },
      checkpointEvery: Math.max(o.evalEvery, 100),
      signal: stop.signal,
      handleSigint: false,
      write: o.write,
      tty: false,
    });
  } finally {
    clearTimeout(timer);
  }
  try {
    if (evals.at(-1)?.step !== result.step) { // the last step was not scored: score it, keep it if best
      const t0 = performance.now();
      const scores = score(result.params);
      scoringMs += performance.now() - t0;
      evals.push({ step: result.step, scores });
      if (!result.best || scores.mean > result.best.value) {
        await saveCheckpoint(`${o.out}/best`, { ...result, config: o.config });
      }
    }
  } finally {
    treeDispose(result.params as unknown as Tree<tf.Tensor>);
    treeDispose(result.optState);
  }
  const wallSeconds = (performance.now() - started) / 1000, trainSeconds = wallSeconds - scoringMs / 1000;
  const best = evals.reduce((a, e) => (e.scores.mean > a.scores.mean ? e : a), evals[0]);
  const row: AvqaRunResult = {
    name: o.name,
    config: o.config.name,
    modality,
    seed: o.seed,
    plannedSteps: o.steps,
    steps: result.step,
    stopped: result.stopped,
    wallSeconds,
    trainSeconds,
    stepsPerSecond: result.step / trainSeconds,
    best,
    // the generated answers are kept for the best scoring only (2,000 strings each)
    evals: evals.map((e) => ({ step: e.step, scores: { ...e.scores, predictions: [] } })),
  };
  await Deno.writeTextFile(`${o.out}/result.json`, JSON.stringify(row, null, 2) + "\n");
  return row;
}
