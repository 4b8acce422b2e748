/**
 * tfjs graph model export: loadGraphModel (tfjs-converter) runs it from memory and from disk, and
 * its outputs equal the eager function's to 1e-5.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { loadGraphModel } from "@tensorflow/tfjs-converter";
import { Effect } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { trace } from "../../transforms/trace.ts";
import { treeFlatten, treeShapes } from "../../transforms/tree.ts";
import { exportGraphModel, graphModelArtifacts, graphModelFromDir } from "../../export/graphmodel.ts";
import { f32, i32, LM, lmBatch, lmForward, type LmParams, lmParams } from "./_fixtures.ts";

await setBackend("wasm");

const work = await Deno.makeTempDir({ prefix: "graphmodel_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(work, { recursive: true }));
const params = lmParams(5);
const { tokens } = lmBatch(2);
const fn = (p: LmParams, i: Record<string, tf.Tensor>) => lmForward(p, i.tokens);
const inputs = { tokens: i32(LM.B, LM.L) };

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

Deno.test("loadGraphModel runs the exported transformer from memory and matches eager to 1e-5", async () => {
  const graph = trace(
    (p, x) => fn(p as LmParams, x as Record<string, tf.Tensor>),
    treeShapes(params),
    inputs,
  );
  const flat = treeFlatten(params);
  const { modelJSON, weightData } = graphModelArtifacts(
    graph,
    flat.paths.map((path, i) => ({ path, value: flat.leaves[i] })),
  );
  const m = await loadGraphModel(tf.io.fromMemory({
    modelTopology: modelJSON.modelTopology as tf.io.ModelArtifacts["modelTopology"],
    weightSpecs: (modelJSON.weightsManifest as { weights: tf.io.WeightsManifestEntry[] }[])[0].weights,
    weightData: weightData.buffer as ArrayBuffer,
    format: "graph-model",
    signature: modelJSON.signature as object,
  }));
  const [logits, h] = m.execute({ tokens }, ["logits", "h"]) as tf.Tensor[];
  const eager = lmForward(params, tokens);
  assert.deepEqual(logits.shape, eager.logits.shape);
  assert.ok(
    maxAbsDiff(logits, eager.logits) <= 1e-5 * Math.max(1, tf.max(tf.abs(eager.logits)).dataSync()[0]),
  );
  assert.ok(maxAbsDiff(h, eager.h) <= 1e-5 * Math.max(1, tf.max(tf.abs(eager.h)).dataSync()[0]));
});

Deno.test("exportGraphModel writes model.json + one shard that loadGraphModel loads from disk", async () => {
  const report = await Effect.runPromise(exportGraphModel({ params, fn, inputs }, `${work}/gm`));
  assert.deepEqual([...Deno.readDirSync(`${work}/gm`)].map((e) => e.name).sort(), [
    "group1-shard1of1.bin",
    "model.json",
  ]);
  const json = JSON.parse(await Deno.readTextFile(`${work}/gm/model.json`));
  assert.equal(json.format, "graph-model");
  const ops = new Set(json.modelTopology.node.map((n: { op: string }) => n.op));
  for (const op of ["Placeholder", "Const", "BatchMatMulV2", "Erf", "Softmax", "GatherV2", "Mul"]) {
    assert.ok(ops.has(op), `no ${op} node`);
  }
  assert.ok(!ops.has("Multiply") && !ops.has("BatchMatMul"), "tfjs kernel names leaked into the graph");
  const m = await loadGraphModel(graphModelFromDir(`${work}/gm`));
  const out = m.execute({ tokens }, ["logits"]) as tf.Tensor;
  const eager = lmForward(params, tokens).logits;
  assert.ok(maxAbsDiff(out, eager) <= 1e-5 * Math.max(1, tf.max(tf.abs(eager)).dataSync()[0]));
  assert.ok(report.weightBytes >= treeFlatten(params).leaves.reduce((n, l) => n + l.size * 4, 0));
});

Deno.test("a graph model needs weights: {shape, dtype} params are refused with the param's path", async () => {
  const res = await Effect.runPromise(
    Effect.result(exportGraphModel({
      params: { w: f32(2, 2) } as unknown as { w: tf.Tensor },
      fn: (p, i) => tf.matMul(i.x, p.w),
      inputs: { x: f32(1, 2) },
    }, `${work}/none`)),
  );
  assert.equal(res._tag, "Failure");
  assert.match((res as { failure: Error }).failure.message, /param 'w' has no tensor value/);
});
