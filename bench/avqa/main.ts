/**
 * `deno task avqa`: the synthetic audio-video QA benchmark of issue 10 §1-2. Renders and decodes the task
 * (cached under .cache/avqa), then
 *   - tf:    the full path through TensorFlow (tf_path.ts: TFRecord shards -> SavedModel -> driver.py with
 *            XLA -> weights back in TypeScript -> greedy generate + exact match);
 *   - eager: trains the `avqa` config eagerly in TypeScript, keeping the best checkpoint by the eval set;
 * and prints the exact match per question type on the 500 eval clips next to the majority-class baseline.
 *
 *   deno task avqa [--path tf,eager] [--tf-steps 1500] [--jit] [--steps 900] [--minutes 0] [--eval-every 100]
 *                  [--pool 1250] [--seed 0] [--backend wasm] [--out out/avqa] [--eval-clips 500]
 */
import { parseArgs } from "node:util";
import { configs } from "../../model/config.ts";
import { type BackendName, setBackend } from "../../transforms/backend.ts";
import { avqaBaseline, loadAvqaData } from "./data.ts";
import { runAvqa } from "./run.ts";
import { runTfPath } from "./tf_path.ts";
import { scoreTable } from "./score.ts";
import { AVQA_TASK, avqaTokenizer } from "./task.ts";

const { values: a } = parseArgs({
  args: Deno.args,
  options: {
    steps: { type: "string", default: "900" },
    minutes: { type: "string", default: "0" },
    "eval-every": { type: "string", default: "100" },
    "eval-clips": { type: "string", default: String(AVQA_TASK.evalCount) },
    pool: { type: "string", default: "1250" },
    path: { type: "string", default: "tf,eager" },
    "tf-steps": { type: "string", default: "1500" },
    // XLA on CPU runs this model's step ~250x slower than graph mode (README): off unless asked for
    jit: { type: "boolean", default: false },
    seed: { type: "string", default: "0" },
    backend: { type: "string", default: "wasm" },
    out: { type: "string", default: "out/avqa" },
    cache: { type: "string", default: ".cache/avqa" },
  },
});

const write = (t: string) => void Deno.stderr.writeSync(new TextEncoder().encode(t));
await setBackend(a.backend as BackendName);
const task = AVQA_TASK, tokenizer = avqaTokenizer(), config = configs.avqa;

write(
  `avqa: loading ${
    a["eval-clips"]
  } eval clips (seed ${task.evalSeed}) and ${a.pool} training clips (seed ${task.trainSeed})\n`,
);
const data = await loadAvqaData(task, {
  cacheDir: a.cache,
  poolClips: Number(a.pool),
  evalClips: Number(a["eval-clips"]),
  write,
});
const baseline = avqaBaseline(task);

const paths = a.path.split(",");
const reached = (
  evals: readonly { step: number; scores: { byType: Record<string, number> } }[],
  type: string,
  target: number,
) => evals.find((e) => e.scores.byType[type] >= target)?.step;

if (paths.includes("tf")) {
  const r = await runTfPath({
    config,
    pool: data.pool,
    evalSet: data.evalSet,
    tokenizer,
    task,
    cacheDir: a.cache,
    out: `${a.out}/tf_seed${a.seed}`,
    steps: Number(a["tf-steps"]),
    seed: Number(a.seed),
    jit: a.jit,
    write,
  });
  console.log(
    `\n## avqa through TensorFlow (export/tf/driver.py${
      a.jit ? " --jit" : ""
    }, ${r.driver.steps} steps, batch 16, seed ${a.seed})\n`,
  );
  console.log(scoreTable([{
    name: `TF-trained weights, step ${r.driver.steps}`,
    scores: r.scores,
    note:
      `shards ${r.seconds.shards.toFixed(0)} s, export ${r.seconds.export.toFixed(0)} s, train ${
        r.seconds.train.toFixed(0)
      } s, ` +
      `score ${r.seconds.score.toFixed(0)} s`,
  }], baseline));
  console.log(
    `sample answers: ${
      r.scores.samples.slice(0, 4).map((s) => `"${s.question}" -> "${s.predicted}" (${s.answer})`).join("; ")
    }`,
  );
}

if (paths.includes("eager")) {
  const out = `${a.out}/eager_seed${a.seed}`;
  await Deno.remove(out, { recursive: true }).catch(() => {});
  const minutes = Number(a.minutes);
  const row = await runAvqa({
    name: "eager",
    config,
    out,
    pool: data.pool,
    evalSet: data.evalSet,
    tokenizer,
    task,
    steps: Number(a.steps),
    seed: Number(a.seed),
    evalEvery: Number(a["eval-every"]),
    wallSeconds: minutes > 0 ? minutes * 60 : undefined,
    write,
  });

  console.log(
    `\n## avqa, eager TypeScript on ${a.backend} (${config.name}, seed ${a.seed}, batch 16, lr 1e-3 warm-up + cosine)\n`,
  );
  console.log(scoreTable([{
    name: `best checkpoint (step ${row.best.step} of ${row.steps})`,
    scores: row.best.scores,
    note: `${row.stepsPerSecond.toFixed(2)} steps/s, ${(row.trainSeconds / 60).toFixed(1)} min training, ${
      (row.wallSeconds / 60).toFixed(1)
    } min wall`,
  }], baseline));
  console.log(`\nscored every ${a["eval-every"]} steps on ${row.best.scores.n} questions:`);
  for (const e of row.evals) {
    console.log(
      `  step ${String(e.step).padStart(5)}: ${
        Object.entries(e.scores.byType).map(([t, v]) => `${t} ${(100 * v).toFixed(1)}%`).join(", ")
      }`,
    );
  }
  console.log(
    `\nfirst step with (c) >= 90%: ${
      reached(row.evals, "colour_at_tone", 0.9) ?? "not reached"
    }; (d) >= 90%: ${reached(row.evals, "turned_before_tone", 0.9) ?? "not reached"}`,
  );
  console.log(
    `sample answers: ${
      row.best.scores.samples.slice(0, 4).map((s) => `"${s.question}" -> "${s.predicted}" (${s.answer})`)
        .join("; ")
    }`,
  );
}
