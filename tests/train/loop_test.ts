import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { type Tree, treeDispose, treeFlatten, treeLeaves, treePaths } from "../../transforms/tree.ts";
import { CheckpointMismatch, loadCheckpoint } from "../../train/checkpoint.ts";
import { type MirasolConfig, tiny, validateConfig } from "../../model/config.ts";
import { train, TrainError, type TrainOptions, type TrainResult } from "../../train/loop.ts";
import { progressBar, readMetrics } from "../../train/log.ts";
import { syntheticBatches } from "../../train/sources.ts";
import type { StepMetrics } from "../../train/step.ts";

await setBackend("wasm");

const asTree = (t: unknown) => t as Tree<tf.Tensor>;
const leafValues = (t: unknown) => treeLeaves(asTree(t)).map((l) => Array.from(l.dataSync()));
/** Bit-for-bit equality of two tensor trees; on failure names the first differing leaf and index (no huge diff). */
function assertSameTree(a: unknown, b: unknown, what: string): void {
  const [x, y] = [treeFlatten(asTree(a)), treeFlatten(asTree(b))];
  assert.deepEqual(x.paths, y.paths, `${what}: the trees differ in structure`);
  x.leaves.forEach((l, i) => {
    const [u, v] = [l.dataSync(), y.leaves[i].dataSync()];
    const j = u.findIndex((e, k) => !Object.is(e, v[k]));
    assert.ok(u.length === v.length && j < 0, `${what}: ${x.paths[i]}[${j}] is ${u[j]} vs ${v[j]}`);
  });
}
const quiet = { write: () => {}, tty: false, handleSigint: false } as const;
const base = (out: string, extra: Partial<TrainOptions> = {}): TrainOptions => ({
  config: tiny,
  data: syntheticBatches(tiny, { batchSize: 2, seed: 11 }),
  steps: 20,
  batchSize: 2,
  lr: 3e-3,
  seed: 5,
  out,
  logEvery: 1,
  ...quiet,
  ...extra,
});
const dispose = (r: TrainResult) => {
  treeDispose(asTree(r.params));
  treeDispose(r.optState);
};
const curve = async (out: string) =>
  (await readMetrics(`${out}/metrics.jsonl`)).filter((r) => r.split === "train").map((r) => {
    const { stepsPerSec: _s, elapsedSec: _e, ...rest } = r as Record<string, unknown>;
    return rest;
  });
/** Bytes of every file in a folder tree, to show that nothing was overwritten. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) Object.assign(out, await snapshot(path));
    else out[path] = Array.from(await Deno.readFile(path)).join(",");
  }
  return out;
}

Deno.test("train with the same seed on the same backend gives the same loss curve bit for bit (20 steps), another seed another", async () => {
  const dir = await Deno.makeTempDir();
  const seen: StepMetrics[][] = [[], [], []];
  const runs = [];
  for (const [i, seed] of [5, 5, 6].entries()) {
    runs.push(await train(base(`${dir}/${i}`, { seed, onStep: (_s, m) => seen[i].push(m) })));
  }
  assert.equal(seen[0].length, 20);
  assert.deepEqual(seen[0], seen[1]);
  assert.deepEqual(await curve(`${dir}/0`), await curve(`${dir}/1`));
  assertSameTree(runs[0].params, runs[1].params, "runs[0].params vs runs[1].params");
  assert.notDeepEqual(seen[0].map((m) => m.total), seen[2].map((m) => m.total));
  // metrics.jsonl holds exactly the step metrics train reported, one row per logged step.
  assert.deepEqual((await curve(`${dir}/0`)).map((r) => r.total), seen[0].map((m) => m.total));
  assert.deepEqual((await curve(`${dir}/0`)).map((r) => r.step), Array.from({ length: 20 }, (_, i) => i + 1));
  runs.forEach(dispose);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train for 2N steps equals N steps, an abort (saved), and a resume to 2N: bit-identical params, optimizer state, key and curve", async () => {
  const dir = await Deno.makeTempDir();
  const N = 6;
  const live = tf.memory().numTensors;
  const straight = await train(base(`${dir}/straight`, { steps: 2 * N, logEvery: 4 }));
  const stop = new AbortController();
  const first = await train(base(`${dir}/split`, {
    steps: 2 * N,
    logEvery: 4,
    signal: stop.signal,
    onStep: (s) => s === N && stop.abort(),
  }));
  assert.equal(first.stopped, "aborted");
  assert.equal(first.step, N);
  const saved = await loadCheckpoint(`${dir}/split/ckpt`, { config: tiny });
  assert.equal(saved.step, N);
  assertSameTree(saved.params, first.params, "saved.params vs first.params");
  const resumed = await train(base(`${dir}/split`, { steps: 2 * N, logEvery: 4, resume: true }));
  assert.equal(resumed.stopped, "completed");
  assert.equal(resumed.step, 2 * N);
  assert.deepEqual(treePaths(asTree(resumed.params)), treePaths(asTree(straight.params)));
  assertSameTree(resumed.params, straight.params, "resumed.params vs straight.params");
  assert.deepEqual(treePaths(asTree(resumed.optState)), treePaths(asTree(straight.optState)));
  assertSameTree(resumed.optState, straight.optState, "resumed.optState vs straight.optState");
  assert.deepEqual([...resumed.key], [...straight.key]);
  // the metrics file of the split run reads like one run: rows 4, 8, 12 (and the aborted step 6 is not a logged step)
  assert.deepEqual(await curve(`${dir}/split`), await curve(`${dir}/straight`));
  for (const r of [straight, first, resumed]) dispose(r);
  treeDispose(asTree(saved.params));
  treeDispose(asTree(saved.optState));
  assert.equal(tf.memory().numTensors, live, "train leaked tensors beyond the ones it returned");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train resumes an iterable source by skipping the batches already used", async () => {
  const dir = await Deno.makeTempDir();
  const batchOf = syntheticBatches(tiny, { batchSize: 2, seed: 3 });
  async function* stream() {
    for (let s = 0;; s++) yield batchOf(s);
  }
  const straight = await train(base(`${dir}/a`, { steps: 4, data: stream() }));
  const stop = new AbortController();
  dispose(
    await train(base(`${dir}/c`, {
      steps: 4,
      data: stream(),
      signal: stop.signal,
      onStep: (s) => s === 2 && stop.abort(),
    })),
  );
  const resumed = await train(base(`${dir}/c`, { steps: 4, data: stream(), resume: true }));
  assertSameTree(resumed.params, straight.params, "resumed.params vs straight.params");
  // a finite source ends the run early and says so
  const short = await train(base(`${dir}/d`, { steps: 4, data: [batchOf(0), batchOf(1)] }));
  assert.equal(short.stopped, "data-exhausted");
  assert.equal(short.step, 2);
  for (const r of [straight, resumed, short]) dispose(r);
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train refuses a checkpoint of another config on resume, naming the first differing leaf, and overwrites nothing", async () => {
  const dir = await Deno.makeTempDir();
  dispose(await train(base(dir, { steps: 2 })));
  const before = await snapshot(dir);
  const live = tf.memory().numTensors;
  const wider: MirasolConfig = validateConfig({ ...tiny, text: { ...tiny.text, vocab: 48 } });
  await assert.rejects(
    () =>
      train(
        base(dir, {
          steps: 4,
          resume: true,
          config: wider,
          data: syntheticBatches(wider, { batchSize: 2, seed: 1 }),
        }),
      ),
    (e: unknown) => {
      assert.ok(e instanceof CheckpointMismatch, String(e));
      assert.match(
        e.message,
        /params\/text_decoder\/\S+ is float32 \[40, 24\] in the checkpoint but float32 \[48, 24\]/,
      );
      return true;
    },
  );
  // without resume an existing checkpoint is never replaced by a fresh run
  await assert.rejects(
    () => train(base(dir, { steps: 4 })),
    (e: unknown) => e instanceof TrainError && /already holds a checkpoint/.test(e.message),
  );
  // other hyperparameters would not continue the same run
  await assert.rejects(
    () => train(base(dir, { steps: 2, lr: 1e-2, resume: true })),
    /lr is 0.003 in run.json but 0.01 now/,
  );
  assert.deepEqual(await snapshot(dir), before);
  assert.equal(tf.memory().numTensors, live, "a refused run leaked tensors");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train evaluates every N steps and keeps the best checkpoint by the eval metric", async () => {
  const dir = await Deno.makeTempDir();
  const scripted = [3, 1, 2]; // eval at steps 2, 4, 6: the best is step 4
  const at: number[] = [];
  const r = await train(base(dir, {
    steps: 6,
    logEvery: 3,
    evalEvery: 2,
    evalFn: (_p, { step }) => ({ loss: scripted[at.push(step) - 1] }),
  }));
  assert.deepEqual(at, [2, 4, 6]);
  assert.deepEqual(r.best, { step: 4, value: 1 });
  assert.equal((await loadCheckpoint(`${dir}/best`, { config: tiny })).step, 4);
  const rows = await readMetrics(`${dir}/metrics.jsonl`);
  assert.deepEqual(rows.map((x) => [x.split, x.step]), [
    ["eval", 2],
    ["train", 3],
    ["eval", 4],
    ["train", 6],
    ["eval", 6],
  ]);
  assert.deepEqual(rows.filter((x) => x.split === "eval").map((x) => x.best), [true, true, false]);
  dispose(r);
  await assert.rejects(
    () => train(base(`${dir}/x`, { steps: 2, evalEvery: 1, evalFn: () => ({ accuracy: 1 }) })),
    /evalFn returned no number 'loss' \(it gave accuracy\)/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train stops with an InputError on NaN media (checked at the door) and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const good = syntheticBatches(tiny, { batchSize: 2, seed: 1 });
  const data = (s: number) => {
    const b = good(s);
    if (s === 3) b.audio.fill(NaN);
    return b;
  };
  await assert.rejects(
    () => train(base(dir, { steps: 6, data, checkpointEvery: 2 })),
    /Cannot use batch\.audio: expected finite values, got NaN at row 0, element \[0, 0\]/,
  );
  const kept = await loadCheckpoint(`${dir}/ckpt`, { config: tiny });
  assert.equal(kept.step, 2);
  assert.ok(leafValues(kept.params).flat().every(Number.isFinite));
  treeDispose(asTree(kept.params));
  treeDispose(asTree(kept.optState));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train stops with an error on a non-finite loss (finite but overflowing media) and keeps the last good checkpoint", async () => {
  const dir = await Deno.makeTempDir();
  const good = syntheticBatches(tiny, { batchSize: 2, seed: 1 });
  const data = (s: number) => {
    const b = good(s);
    if (s === 3) b.audio.fill(3e38);
    return b;
  };
  await assert.rejects(
    () => train(base(dir, { steps: 6, data, checkpointEvery: 2 })),
    /the loss is (NaN|Infinity) at step 4 \(the checkpoint of step 2 is kept\)/,
  );
  const kept = await loadCheckpoint(`${dir}/ckpt`, { config: tiny });
  assert.equal(kept.step, 2);
  assert.ok(leafValues(kept.params).flat().every(Number.isFinite));
  treeDispose(asTree(kept.params));
  treeDispose(asTree(kept.optState));
  await Deno.remove(dir, { recursive: true });
});

Deno.test("train rejects bad options and a batch larger than batchSize, naming the value", async () => {
  const dir = await Deno.makeTempDir();
  await assert.rejects(() => train(base(dir, { steps: 0 })), /steps must be a positive integer, got 0/);
  await assert.rejects(() => train(base(dir, { lr: -1 })), /lr must be a positive number, got -1/);
  await assert.rejects(
    () => train(base(`${dir}/big`, { batchSize: 1 })),
    /batch of step 0: it has 2 examples, more than batchSize 1/,
  );
  await Deno.remove(dir, { recursive: true });
});

Deno.test("the progress display redraws one line on a TTY (steps/s, ETA, each loss term) and prints plain lines every logEvery steps otherwise", () => {
  const m: StepMetrics = {
    total: 3.5,
    latent: 0.25,
    reconstruction: 0.75,
    text: 2.5,
    gradNorm: 1.5,
    lr: 0.001,
  };
  let clock = 0;
  const tty: string[] = [];
  const bar = progressBar({
    total: 100,
    start: 0,
    tty: true,
    logEvery: 10,
    write: (t) => tty.push(t),
    now: () => clock,
  });
  for (let s = 1; s <= 4; s++) {
    clock = 500 * s; // 2 steps/s
    bar.step(s, m);
  }
  bar.finish("completed", 4);
  const drawn = tty.join("");
  const expected =
    "\r\x1b[2K[#...................] step   4/100  loss 3.500  latent 0.2500  recon 0.7500  text 2.500" +
    "  |g| 1.500  lr 0.001000  2.00 steps/s  ETA 48s\n";
  assert.ok(drawn.includes(expected), JSON.stringify(drawn));
  assert.equal(drawn.split("\n").length, 3, "a TTY gets one redrawn line, then the summary");
  const plain: string[] = [];
  const log = progressBar({
    total: 25,
    start: 0,
    tty: false,
    logEvery: 10,
    write: (t) => plain.push(t),
    now: () => 0,
  });
  const logged = Array.from({ length: 25 }, (_, i) => log.step(i + 1, m) !== undefined);
  assert.deepEqual(logged.flatMap((l, i) => (l ? [i + 1] : [])), [10, 20, 25]);
  assert.deepEqual(plain.map((l) => l.split("  ")[0]), ["step 10/25", "step 20/25", "step 25/25"]);
});
