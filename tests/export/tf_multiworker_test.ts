/**
 * export/tf/driver.py under MultiWorkerMirroredStrategy: two worker processes on loopback, each told
 * its role by TF_CONFIG alone (the command line is the same), train `tiny` for a few steps on
 * PNG-framed shards. Gradients are all-reduced across the workers, so both end with the same weights.
 * Both workers are killed when the test ends, whatever happened; the run is bounded by TIMEOUT_MS.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadCheckpoint } from "../../train/checkpoint.ts";
import { setBackend } from "../../transforms/backend.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import {
  config,
  driverCommand,
  driverResult,
  type DriverRun,
  exportTiny,
  readMetrics,
  syntheticExample,
  writeShards,
} from "./_tf_driver_fixtures.ts";

await setBackend("wasm");

const TIMEOUT_MS = 480_000; // two TensorFlow imports and gRPC start-up on a shared 2-core machine
const STEPS = 4;
const work = await Deno.makeTempDir({ prefix: "tf_multiworker_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
await writeShards(`${work}/shards`, Array.from({ length: 8 }, (_, i) => syntheticExample(i)), "png");
const { params, configPath } = await exportTiny(`${work}/savedmodel`);

function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

const ports = [freePort(), freePort()];
const cluster = { worker: ports.map((p) => `127.0.0.1:${p}`) };
const args = [
  "--savedmodel",
  `${work}/savedmodel`,
  "--data",
  `${work}/shards/*.tfrecord`,
  "--steps",
  String(STEPS),
  "--lr",
  "3e-3",
  "--out",
  `${work}/run`,
  "--log-every",
  "1",
  "--checkpoint-every",
  "2",
  "--config",
  configPath,
  "--write-worker-weights",
];
const workers = [0, 1].map((index) =>
  driverCommand(args, { TF_CONFIG: JSON.stringify({ cluster, task: { type: "worker", index } }) }).spawn()
);
let timer: ReturnType<typeof setTimeout> | undefined;
let runs: DriverRun[];
try {
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`the two workers did not finish within ${TIMEOUT_MS / 1000} s`)),
      TIMEOUT_MS,
    );
  });
  runs = await Promise.race([Promise.all(workers.map(async (w) => driverResult(await w.output()))), timeout]);
} finally {
  clearTimeout(timer);
  for (const w of workers) {
    try {
      w.kill("SIGKILL");
    } catch { /* already exited */ }
  }
}
const [chief, other] = runs;

Deno.test("both workers finish, as one 2-replica MultiWorkerMirroredStrategy cluster with worker 0 as chief", () => {
  for (const r of runs) assert.equal(r.code, 0, `a worker failed:\n${r.stdout}\n${r.stderr.slice(-3000)}`);
  for (const r of runs) {
    assert.equal(r.summary!.strategy, "MultiWorkerMirroredStrategy");
    assert.equal(r.summary!.workers, 2);
    assert.equal(r.summary!.replicas, 2);
    assert.equal(r.summary!.steps, STEPS);
  }
  assert.equal(chief.summary!.chief, true);
  assert.equal(other.summary!.chief, false);
  assert.equal(other.summary!.out, `${work}/run/worker-1`);
});

Deno.test("the loss is finite at every step on both workers", async () => {
  for (const dir of [`${work}/run`, `${work}/run/worker-1`]) {
    const metrics = await readMetrics(`${dir}/metrics.jsonl`);
    assert.deepEqual(metrics.map((m) => m.step), [1, 2, 3, 4]);
    for (const m of metrics) {
      assert.ok(Number.isFinite(m.total) && m.total > 0, `${dir} step ${m.step}: ${m.total}`);
    }
  }
});

Deno.test("both workers end with identical weights, changed from the exported ones", async () => {
  const [a, b] = await Promise.all(
    [`${work}/run`, `${work}/run/worker-1`].map((d) => loadCheckpoint(d, { config, like: { params } })),
  );
  assert.equal(a.step, STEPS);
  assert.equal(b.step, STEPS);
  const [fa, fb, f0] = [treeFlatten(a.params), treeFlatten(b.params), treeFlatten(params)];
  assert.deepEqual(fa.paths, fb.paths);
  fa.leaves.forEach((l, i) =>
    assert.deepEqual(l.dataSync(), fb.leaves[i].dataSync(), `worker weights differ at ${fa.paths[i]}`)
  );
  const changed =
    fa.leaves.filter((l, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(l, f0.leaves[i]))).dataSync()[0]) > 1e-5)
      .length;
  assert.ok(changed >= 0.9 * fa.leaves.length, `only ${changed} of ${fa.leaves.length} params changed`);
});
