/**
 * `deno task ablations`: the directions of the paper's Tab. 5 on the avqa task. Every row trains the
 * avqa config with one change, for the same steps, data and schedule, once per seed, and reports the
 * exact match per question type on the eval set: mean +- sd over the seeds, every seed's number, and
 * the collapse diagnostics the driver logged while training.
 *
 *   deno task ablations [--rows full,combiner_ttm,...] [--seeds 0,1,2] [--steps 900] [--pool 500]
 *                       [--via tf|eager] [--jit on|off] [--out out/avqa_ablations] [--table-only]
 *
 * `--via tf` (default) trains each run through the SavedModel export's `train_loss` signature and
 * export/tf/driver.py (the paper's recipe in the graph: 0.75 Combiner masking, dropout; tf_path.ts) and
 * scores its final weights; `--via eager` trains in TypeScript and scores its best checkpoint.
 *
 * Resumable: each finished (row, seed) writes <out>/<via>_steps<N>/<row>/seed<S>/result.json (through a
 * temp file and a rename, so a killed run leaves no result) and is skipped when the runner starts again;
 * the tables are rebuilt from the files on disk, so the grid fills over several sittings and several
 * processes. Rows run in the order given, all seeds of a row before the next row.
 */
import { parseArgs } from "node:util";
import {
  avqa,
  combinerOfKind,
  type MirasolConfig,
  validateConfig,
  withCombiner,
  withFrames,
} from "../../model/config.ts";
import { type BackendName, setBackend } from "../../transforms/backend.ts";
import { avqaBaseline, loadAvqaData } from "./data.ts";
import type { Modality } from "./examples.ts";
import { runAvqa } from "./run.ts";
import { runTfPath } from "./tf_path.ts";
import { AVQA_TASK, avqaTokenizer, QUESTION_TYPES } from "./task.ts";
import {
  collapseOf,
  collapseTable,
  detailTable,
  type GridRow,
  type SeedResult,
  summaryTable,
} from "./ablation_table.ts";

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
  { name: "m1", about: "Tab. 5d: m = 1", config: withM(1), modality: "both" },
  { name: "m2", about: "Tab. 5d: m = 2", config: withM(2), modality: "both" },
  { name: "m8", about: "Tab. 5d: m = 8", config: withM(8), modality: "both" },
  {
    name: "whole_video",
    about: "Tab. 5c: the 32 frames as one chunk (32/1), m = 4",
    config: validateConfig({ ...withFrames(avqa, 32, 1), name: "avqa/whole_video" }),
    modality: "both",
  },
  {
    name: "bd",
    about: "Tab. 5c: bidirectional latent model, masked-chunk objective (32/4)",
    config: validateConfig({ ...avqa, name: "avqa/bd", latentAttention: "bidirectional" }),
    modality: "both",
  },
  {
    name: "frames4",
    about: "Tab. 5c: 4 frames per chunk (32/8) instead of 8 (32/4)",
    config: validateConfig({
      ...avqa,
      name: "avqa/frames4",
      // the 8-frame tubes do not fit a 4-frame chunk: 4-frame tubes, the same tokens per frame
      video: { ...avqa.video, chunks: 8, tubes: [{ kernel: [4, 8, 8], stride: [4, 8, 8], offset: [0, 0] }] },
    }),
    modality: "both",
  },
  {
    name: "mask0",
    about: "Combiner-output masking ratio 0 instead of 0.75",
    config: validateConfig({ ...avqa, name: "avqa/mask0", combinerMaskRatio: 0 }),
    modality: "both",
  },
  {
    name: "stopgrad",
    about: "latent target x_{t+1} stop-gradient (collapse check)",
    config: validateConfig({ ...avqa, name: "avqa/stopgrad", latentStopGradient: true }),
    modality: "both",
  },
];

/** The issue's grid, in the order it is run: what separates first. */
export const DEFAULT_GRID = [
  "full",
  "combiner_ttm",
  "combiner_perceiver",
  "combiner_cls",
  "stopgrad",
  "mask0",
  "no_latent",
  "no_combiner",
  "m1",
  "m2",
  "m8",
  "whole_video",
  "bd",
  "frames4",
] as const;

if (import.meta.main) {
  const { values: a } = parseArgs({
    args: Deno.args,
    options: {
      rows: { type: "string", default: DEFAULT_GRID.join(",") },
      seeds: { type: "string", default: "0,1,2" },
      steps: { type: "string", default: "900" },
      "eval-every": { type: "string", default: "100" },
      "eval-clips": { type: "string", default: String(AVQA_TASK.evalCount) },
      pool: { type: "string", default: "500" },
      via: { type: "string", default: "tf" },
      jit: { type: "string", default: "on" },
      out: { type: "string", default: "out/avqa_ablations" },
      cache: { type: "string", default: ".cache/avqa" },
      backend: { type: "string", default: "wasm" },
      "table-only": { type: "boolean", default: false },
    },
  });
  const write = (t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t));
  const fail = (m: string): never => {
    console.error(`ablations: ${m}`);
    Deno.exit(2);
  };
  const steps = Number(a.steps);
  if (!Number.isInteger(steps) || steps < 1) fail(`--steps must be a positive integer, got ${a.steps}`);
  const seeds = a.seeds.split(",").map(Number);
  if (seeds.some((s) => !Number.isInteger(s) || s < 0)) fail(`--seeds must be integers >= 0, got ${a.seeds}`);
  if (a.via !== "tf" && a.via !== "eager") fail(`--via must be tf or eager, got ${a.via}`);
  if (a.jit !== "on" && a.jit !== "off") fail(`--jit must be on or off, got ${a.jit}`);
  const wanted = a.rows.split(",").map((n) =>
    ABLATION_ROWS.find((r) => r.name === n) ??
      fail(`no ablation row '${n}' (rows: ${ABLATION_ROWS.map((r) => r.name).join(", ")})`)
  );
  const grid = `${a.out}/${a.via}_steps${steps}`;
  const dirOf = (r: AblationRow, seed: number) => `${grid}/${r.name}/seed${seed}`;
  const finished = async (r: AblationRow, seed: number): Promise<SeedResult | undefined> => {
    try {
      return JSON.parse(await Deno.readTextFile(`${dirOf(r, seed)}/result.json`));
    } catch {
      return undefined;
    }
  };
  const commit = async (dir: string, result: SeedResult & Record<string, unknown>) => {
    const tmp = `${dir}/result.json.tmp-${Deno.pid}`;
    await Deno.writeTextFile(tmp, JSON.stringify(result, null, 2) + "\n");
    await Deno.rename(tmp, `${dir}/result.json`);
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
      for (const seed of seeds) {
        if (await finished(r, seed)) continue;
        const dir = dirOf(r, seed);
        write(`ablation ${r.name} seed ${seed}: ${r.about}, ${steps} steps\n`);
        await Deno.remove(dir, { recursive: true }).catch(() => {}); // an unfinished run of ours
        const t0 = performance.now();
        if (a.via === "tf") {
          const t = await runTfPath({
            config: r.config,
            pool: data.pool,
            evalSet: data.evalSet,
            tokenizer: avqaTokenizer(),
            task: AVQA_TASK,
            cacheDir: a.cache,
            out: dir,
            steps,
            seed,
            modality: r.modality,
            jit: a.jit === "on",
            shardDir: `${a.out}/shards_${r.modality}_seed${seed}`,
            write,
          });
          const metrics = (await Deno.readTextFile(`${dir}/run/metrics.jsonl`)).trim().split("\n").map((l) =>
            JSON.parse(l)
          );
          const trained = Number(t.driver.steps);
          await commit(dir, {
            seed,
            byType: t.scores.byType,
            mean: t.scores.mean,
            steps: trained,
            stepsPerSecond: trained / Number(t.driver.seconds),
            collapse: collapseOf(metrics),
            seconds: { ...t.seconds, total: (performance.now() - t0) / 1000 },
            driver: t.driver,
          });
          await Deno.remove(`${dir}/savedmodel`, { recursive: true }); // 1 export per run adds up; the weights stay
        } else {
          const run = await runAvqa({
            name: r.name,
            config: r.config,
            out: dir,
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
          await commit(dir, {
            seed,
            byType: run.best.scores.byType,
            mean: run.best.scores.mean,
            steps: run.steps,
            stepsPerSecond: run.stepsPerSecond,
            bestStep: run.best.step,
          });
        }
        write(`ablation ${r.name} seed ${seed}: done in ${((performance.now() - t0) / 1000).toFixed(0)} s\n`);
      }
    }
  }
  const rows: GridRow[] = [];
  for (const r of ABLATION_ROWS) {
    const done: SeedResult[] = [];
    const entries = await Array.fromAsync(Deno.readDir(`${grid}/${r.name}`)).catch(() =>
      [] as Deno.DirEntry[]
    );
    for (const e of entries) {
      const seed = /^seed(\d+)$/.exec(e.name)?.[1];
      const res = seed === undefined ? undefined : await finished(r, Number(seed));
      if (res) done.push(res);
    }
    if (done.length) rows.push({ name: r.name, about: r.about, seeds: done.sort((x, y) => x.seed - y.seed) });
  }
  const baseline = avqaBaseline(AVQA_TASK);
  console.log(
    `\n## avqa ablations (${a.via}${
      a.via === "tf" ? `, XLA ${a.jit}` : ""
    }): ${steps} steps, batch 16, lr 1e-3 warm-up + cosine, pool ${a.pool} clips\n`,
  );
  console.log(
    `majority class: ${
      QUESTION_TYPES.map((t) => `${t} ${(100 * baseline[t].accuracy).toFixed(1)}%`).join(", ")
    }\n`,
  );
  console.log(summaryTable(rows));
  console.log("\n### every seed\n");
  console.log(detailTable(rows));
  const collapse = collapseTable(rows);
  if (collapse.split("\n").length > 2) {
    console.log("\n### collapse diagnostics at the end of training (first logged step in brackets)\n");
    console.log(collapse);
  }
  const missing = wanted.flatMap((r) =>
    seeds.filter((s) => !rows.find((x) => x.name === r.name)?.seeds.some((y) => y.seed === s)).map((s) =>
      `${r.name}/seed${s}`
    )
  );
  if (missing.length) console.log(`\nnot run yet: ${missing.join(", ")}`);
}
