/**
 * `deno task ablations`: the directions of the paper's Tab. 5 on the avqa task (issue 10 §3). Every row
 * trains the avqa config with one change, for the same steps, seed, data and schedule, and reports the
 * exact match per question type of its best checkpoint on the eval set.
 *
 *   deno task ablations [--via tf|eager] [--rows full,video_only,...] [--steps 150] [--eval-every 50]
 *                       [--seed 0] [--pool 500] [--out out/avqa_ablations] [--backend wasm]
 *
 * `--via tf` trains each row through the SavedModel export and export/tf/driver.py (graph mode; tf_path.ts)
 * and scores its final weights; `--via eager` trains in TypeScript and scores its best checkpoint.
 *
 * Each finished row is written to <out>/<row>/result.json and skipped when the runner is started again
 * with the same budget, so rows can be run in several processes (one per free core) and the table
 * printed at the end from whatever has finished.
 */
import { parseArgs } from "node:util";
import {
  avqa,
  combinerOfKind,
  type MirasolConfig,
  validateConfig,
  withCombiner,
} from "../../model/config.ts";
import { type BackendName, setBackend } from "../../transforms/backend.ts";
import { avqaBaseline, loadAvqaData } from "./data.ts";
import type { Modality } from "./examples.ts";
import { type AvqaRunResult, runAvqa } from "./run.ts";
import { runTfPath } from "./tf_path.ts";
import { scoreTable } from "./score.ts";
import { AVQA_TASK, avqaTokenizer } from "./task.ts";

export type AblationRow = {
  readonly name: string;
  /** the paper table it mirrors and what it tests */
  readonly about: string;
  readonly config: MirasolConfig;
  readonly modality: Modality;
};

const combinerBase = { layers: 2, outTokens: 4 }; // the avqa config's Combiner: 2 layers, m = 4
const withM = (m: number) =>
  withCombiner(avqa, combinerOfKind("causal_transformer", { ...combinerBase, outTokens: m }));

/** Every row of the table, in print order. The full model is also the causal-Transformer and m = 4 row. */
export const ABLATION_ROWS: readonly AblationRow[] = [
  {
    name: "full",
    about: "Combiner: causal Transformer, m = 4; latent model",
    config: avqa,
    modality: "both",
  },
  { name: "video_only", about: "audio zeroed", config: avqa, modality: "video" },
  { name: "audio_only", about: "video zeroed", config: avqa, modality: "audio" },
  {
    name: "combiner_ttm",
    about: "Tab. 5b",
    config: withCombiner(avqa, combinerOfKind("ttm", combinerBase)),
    modality: "both",
  },
  {
    name: "combiner_perceiver",
    about: "Tab. 5b",
    config: withCombiner(avqa, combinerOfKind("perceiver", combinerBase)),
    modality: "both",
  },
  {
    name: "combiner_cls",
    about: "Tab. 5b",
    config: withCombiner(avqa, combinerOfKind("cls", combinerBase)),
    modality: "both",
  },
  {
    name: "no_latent",
    about: "Tab. 5a: Combiner output straight to the text decoder",
    config: validateConfig({ ...avqa, name: "avqa/no_latent", latentDepth: 0 }),
    modality: "both",
  },
  {
    name: "no_combiner",
    about: "Tab. 5a: all tokens to the latent model",
    config: withCombiner(avqa, combinerOfKind("none", combinerBase)),
    modality: "both",
  },
  { name: "m1", about: "Tab. 5d", config: withM(1), modality: "both" },
  { name: "m2", about: "Tab. 5d", config: withM(2), modality: "both" },
  { name: "m8", about: "Tab. 5d", config: withM(8), modality: "both" },
];

if (import.meta.main) {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      rows: { type: "string", default: ABLATION_ROWS.map((r) => r.name).join(",") },
      steps: { type: "string", default: "150" },
      "eval-every": { type: "string", default: "50" },
      "eval-clips": { type: "string", default: String(AVQA_TASK.evalCount) },
      seed: { type: "string", default: "0" },
      pool: { type: "string", default: "500" },
      via: { type: "string", default: "tf" },
      out: { type: "string", default: "out/avqa_ablations" },
      cache: { type: "string", default: ".cache/avqa" },
      backend: { type: "string", default: "wasm" },
      "table-only": { type: "boolean", default: false },
    },
  });
  const write = (t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t));
  const steps = Number(a.steps), seed = Number(a.seed);
  const wanted = a.rows.split(",").map((n) => {
    const row = ABLATION_ROWS.find((r) => r.name === n);
    if (!row) {
      throw new Error(
        `Cannot run ablation '${n}': no such row (rows: ${ABLATION_ROWS.map((r) => r.name).join(", ")})`,
      );
    }
    return row;
  });
  const dirOf = (r: AblationRow) => `${a.out}/${a.via}_steps${steps}_seed${seed}/${r.name}`;
  type Finished = Pick<AvqaRunResult, "best" | "steps" | "stepsPerSecond">;
  const finished = async (r: AblationRow): Promise<Finished | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dirOf(r)}/result.json`));
    } catch {
      return undefined;
    }
  };
  if (!a["table-only"]) {
    await setBackend(a.backend as BackendName);
    const data = await loadAvqaData(AVQA_TASK, {
      cacheDir: a.cache,
      poolClips: Number(a.pool),
      evalClips: Number(a["eval-clips"]),
      write,
    });
    for (const r of wanted) {
      if (await finished(r)) continue;
      write(`ablation ${r.name}: ${r.about}, ${steps} steps\n`);
      await Deno.remove(dirOf(r), { recursive: true }).catch(() => {});
      if (a.via === "tf") {
        const t = await runTfPath({
          config: r.config,
          pool: data.pool,
          evalSet: data.evalSet,
          tokenizer: avqaTokenizer(),
          task: AVQA_TASK,
          cacheDir: a.cache,
          out: dirOf(r),
          steps,
          seed,
          modality: r.modality,
          shardDir: `${a.out}/shards_${r.modality}_seed${seed}`,
          write,
        });
        const trained = Number(t.driver.steps), seconds = Number(t.driver.seconds);
        const row: Finished & { driver: Record<string, unknown> } = {
          best: { step: trained, scores: t.scores },
          steps: trained,
          stepsPerSecond: trained / seconds,
          driver: t.driver,
        };
        await Deno.writeTextFile(`${dirOf(r)}/result.json`, JSON.stringify(row, null, 2) + "\n");
        continue;
      }
      await runAvqa({
        name: r.name,
        config: r.config,
        out: dirOf(r),
        pool: data.pool,
        evalSet: data.evalSet,
        tokenizer: avqaTokenizer(),
        task: AVQA_TASK,
        steps,
        seed,
        modality: r.modality,
        evalEvery: Number(a["eval-every"]),
        write,
      });
    }
  }
  const rows: Parameters<typeof scoreTable>[0][number][] = [];
  for (const r of ABLATION_ROWS) {
    const done = await finished(r);
    if (!done) continue;
    rows.push({
      name: r.name,
      scores: done.best.scores,
      note: a.via === "tf"
        ? `${r.about}; final weights, ${done.stepsPerSecond.toFixed(1)} steps/s in TF`
        : `${r.about}; best at step ${done.best.step}/${done.steps}, ${
          done.stepsPerSecond.toFixed(2)
        } steps/s`,
    });
  }
  console.log(
    `\n## avqa ablations (${a.via}): ${steps} steps, seed ${seed}, batch 16, lr 1e-3 warm-up + cosine\n`,
  );
  console.log(scoreTable(rows, avqaBaseline(AVQA_TASK)));
  const missing = ABLATION_ROWS.filter((r) => !rows.some((x) => x.name === r.name)).map((r) => r.name);
  if (missing.length) console.log(`\nnot run: ${missing.join(", ")}`);
}
