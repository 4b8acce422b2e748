/**
 * `deno task bench:peer`: mirasol-ts against the PyTorch peer (lucidrains/mirasol-pytorch) on the
 * `matched` workload (bench/peer/_matched_config.ts), same machine, one process tree.
 *
 * Installs the peer into .venv-peer (bench/peer/install.sh), exports the matched model as a
 * SavedModel (the `loss` signature, as bench/tf_savedmodel.ts does), then runs rounds of
 *   peer at width 252 and 260 | eager wasm | exported TF with XLA off | XLA on
 * at 1 and 2 threads, each a fresh child process, interleaved so that load drifts hit every
 * contender alike. Each cell is the median over rounds of each process's median step. Ratios are
 * against the mean of the peer's two widths in the same run (256 lies between them).
 *
 * The eager wasm backend is single-threaded here (tfjs' threaded build needs Workers and
 * SharedArrayBuffer under Deno, not wired), so its 2-thread row is the same program.
 *
 * Run: deno task bench:peer [rounds=2] [reps=3]
 */
import { Effect } from "effect";
import * as tf from "@tensorflow/tfjs-core";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import { init } from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeDispose } from "../../transforms/tree.ts";
import { forwardFlops, trainStepFlops } from "../_flops.ts";
import { markdownTable, sig } from "../_table.ts";
import { DRIVER_DIR, PYTHON, STEP_PY } from "../tf_savedmodel.ts";
import { matched, MATCHED_BATCH, MATCHED_TEXT } from "./_matched_config.ts";

const here = new URL(".", import.meta.url).pathname;
const root = new URL("../../", import.meta.url).pathname;
const PEER_PYTHON = `${root}.venv-peer/bin/python`;
const DENO = Deno.execPath();
const rounds = Number(Deno.args[0] ?? 2);
const reps = Number(Deno.args[1] ?? 3);

type Result = { step_ms: number; fwd_ms?: number; peak_rss_mb: number } | { error: string };

/** Runs a child under /usr/bin/time for its peak RSS; its last stdout line is JSON. */
async function child(cmd: string, args: string[], threads: number): Promise<Result> {
  const env = {
    OMP_NUM_THREADS: String(threads),
    MKL_NUM_THREADS: String(threads),
    TF_CPP_MIN_LOG_LEVEL: "2",
  };
  const out = await new Deno.Command("/usr/bin/time", {
    args: ["-f", "RSS_KB %M", cmd, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stdout = new TextDecoder().decode(out.stdout).trim().split("\n").pop() ?? "";
  const stderr = new TextDecoder().decode(out.stderr);
  if (!out.success) {
    return {
      error: stderr.trim().split("\n").filter((l) => !l.startsWith("RSS_KB")).slice(-1)[0] ??
        `exit ${out.code}`,
    };
  }
  const rss = Number(/RSS_KB (\d+)/.exec(stderr)?.[1] ?? 0) / 1024;
  const r = JSON.parse(stdout);
  return { step_ms: r.step_ms ?? r.wall_ms, fwd_ms: r.fwd_ms, peak_rss_mb: rss };
}

const contenders = (sm: string, threads: number): [string, () => Promise<Result>][] => [
  [
    "peer, torch CPU, width 252",
    () => child(PEER_PYTHON, [`${here}peer_step.py`, String(threads), "252", String(reps)], threads),
  ],
  [
    "peer, torch CPU, width 260",
    () => child(PEER_PYTHON, [`${here}peer_step.py`, String(threads), "260", String(reps)], threads),
  ],
  ["ours, eager wasm", () => child(DENO, ["run", "-A", `${here}eager_step.ts`, String(reps)], threads)],
  [
    "ours, exported TF, XLA off",
    () => child(PYTHON, ["-c", STEP_PY, String(threads), "0", sm, String(reps), DRIVER_DIR], threads),
  ],
  [
    "ours, exported TF, XLA on",
    () => child(PYTHON, ["-c", STEP_PY, String(threads), "1", sm, String(reps), DRIVER_DIR], threads),
  ],
];

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length
    ? (s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2)
    : NaN;
};

const install = await new Deno.Command("bash", {
  args: [`${here}install.sh`],
  stdout: "inherit",
  stderr: "inherit",
}).output();
if (!install.success) throw new Error("Cannot run bench:peer: installing the peer into .venv-peer failed");

await setBackend("wasm");
const work = await Deno.makeTempDir({ prefix: "mirasol_bench_peer_" });
const started = new Date().toISOString();
const loads: number[] = [];
try {
  const params = init(PRNGKey(0), matched);
  const { loss } = mirasolSignatures(matched, { batch: MATCHED_BATCH, textLength: MATCHED_TEXT });
  await Effect.runPromise(
    exportSavedModel({ params, signatures: { loss }, paramMode: "variables", config: matched }, `${work}/sm`),
  );
  treeDispose(params as unknown as Tree<tf.Tensor>);
  const cells = new Map<string, { step: number[]; fwd: number[]; rss: number[]; error?: string }>();
  for (let r = 0; r < rounds; r++) {
    for (const threads of [1, 2]) {
      for (const [name, run] of contenders(`${work}/sm`, threads)) {
        loads.push(Deno.loadavg()[0]);
        const res = await run();
        console.error(`round ${r} threads ${threads} ${name}: ${JSON.stringify(res)}`);
        const key = `${threads}|${name}`;
        const c = cells.get(key) ?? { step: [], fwd: [], rss: [] };
        if ("error" in res) c.error = res.error;
        else {
          c.step.push(res.step_ms);
          if (res.fwd_ms !== undefined) c.fwd.push(res.fwd_ms);
          c.rss.push(res.peak_rss_mb);
        }
        cells.set(key, c);
      }
    }
  }
  const flops = trainStepFlops(matched, MATCHED_BATCH, MATCHED_TEXT);
  const fwdFlops = forwardFlops(matched, MATCHED_BATCH, MATCHED_TEXT).total;
  const rows: string[][] = [];
  for (const threads of [1, 2]) {
    const peer = ["peer, torch CPU, width 252", "peer, torch CPU, width 260"].map((n) =>
      median(cells.get(`${threads}|${n}`)!.step)
    );
    const peerStep = (peer[0] + peer[1]) / 2;
    const peerFwd = ["peer, torch CPU, width 252", "peer, torch CPU, width 260"].map((n) =>
      median(cells.get(`${threads}|${n}`)!.fwd)
    );
    const peerFwdMean = (peerFwd[0] + peerFwd[1]) / 2;
    for (const [name] of contenders("", threads)) {
      const c = cells.get(`${threads}|${name}`)!;
      if (c.step.length === 0) {
        rows.push([String(threads), name, `failed: ${c.error}`, "-", "-", "-", "-", "-"]);
        continue;
      }
      const step = median(c.step), fwd = median(c.fwd);
      rows.push([
        String(threads),
        name,
        sig(step),
        sig(step / peerStep),
        sig(flops / (step * 1e6)),
        c.fwd.length ? `${sig(fwd)} (${sig(fwd / peerFwdMean)}x)` : "-",
        sig(Math.max(...c.rss) / 1024),
        String(c.step.length),
      ]);
    }
  }
  console.log(markdownTable({
    title:
      "Train step on the matched workload (B = 2, 4 chunks x 8 frames of 64x64, 64 + 16 tokens a chunk, width 256 / peer 252-260, depth 2, m = 8, text 32)",
    header: [
      "threads",
      "contender",
      "step ms (median)",
      "x peer",
      "GFLOP/s",
      "forward ms (x peer)",
      "peak RSS GB",
      "rounds",
    ],
    rows,
    notes: [
      `Started ${started}, ended ${new Date().toISOString()}; 1-minute load average before each child: ${
        loads.map((l) => l.toFixed(1)).join(" ")
      } on ${navigator.hardwareConcurrency} cores (shared machine).`,
      `Each process: ${reps} timed steps after 2 warm-up; ${rounds} rounds interleaved; x peer = against the mean of the peer's two widths in the same run.`,
      `GFLOP/s from our matmul count (${sig(flops / 1e9)} GFLOP a step, forward ${
        sig(fwdFlops / 1e9)
      }); the peer's work is within a few % of it.`,
      "Eager wasm is single-threaded: its 2-thread row runs the same program. TF: Adam on every variable, the loss signature (train = false).",
    ],
  }));
} finally {
  await Deno.remove(work, { recursive: true });
}
