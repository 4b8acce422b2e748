/**
 * The task's data, ready to train on: the fixed eval set and the training pool (rendered and decoded on
 * first use, cached afterwards), and the majority-class baseline of each question type.
 */
import { Effect } from "effect";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { syntheticQuestions, syntheticScene } from "../../data/synthetic.ts";
import { type ClipSet, loadClips } from "./clip_cache.ts";
import { type AvqaTask, type Baseline, evalQuestions, majorityBaseline } from "./task.ts";
import type { QuestionType } from "../../data/synthetic.ts";

export type AvqaData = { readonly evalSet: ClipSet; readonly pool: ClipSet };

/** Loads (rendering on first use) the eval set and the first `poolClips` clips of the training stream. */
export async function loadAvqaData(
  task: AvqaTask,
  o: {
    readonly cacheDir: string;
    readonly poolClips: number;
    readonly evalClips?: number;
    readonly blockClips?: number;
    readonly concurrency?: number;
    readonly write?: (t: string) => void;
  },
): Promise<AvqaData> {
  const write = o.write ?? ((t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t)));
  let done = 0;
  const t0 = performance.now();
  const onClip = () => {
    if (++done % 50 === 0) {
      write(`  rendered + decoded ${done} clips (${((performance.now() - t0) / 1000).toFixed(0)} s)\n`);
    }
  };
  const load = (seed: number, count: number) =>
    Effect.runPromise(
      loadClips(o.cacheDir, task, {
        seed,
        count,
        blockClips: o.blockClips,
        concurrency: o.concurrency,
        onClip,
      }).pipe(
        Effect.provide(ffmpegLayer),
      ),
    );
  const evalSet = await load(task.evalSeed, o.evalClips ?? task.evalCount);
  const pool = await load(task.trainSeed, o.poolClips);
  return { evalSet, pool };
}

/**
 * The majority-class baseline: the most frequent answer of each type over the first `fitClips` clips of
 * the training stream (scenes only: nothing is rendered), scored on the fixed eval set.
 */
export function avqaBaseline(task: AvqaTask, fitClips = 10_000): Record<QuestionType, Baseline> {
  const fit = Array.from(
    { length: fitClips },
    (_, i) => syntheticQuestions(syntheticScene(task.trainSeed, i, task.synthetic)),
  )
    .flat();
  return majorityBaseline(fit, evalQuestions(task));
}
