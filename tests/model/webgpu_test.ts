import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { hasWebGPU, setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { PRNGKey, split } from "../../transforms/random.ts";
import { treeDispose, treeFlatten } from "../../transforms/tree.ts";
import {
  configs,
  exampleBatch,
  forward,
  init,
  loss,
  type MirasolBatch,
  type MirasolParams,
} from "../../model/mod.ts";

// webgpu under Deno reads only asynchronously (tfjs' synchronous read needs an OffscreenCanvas),
// so everything here is read with `await data()`.
const config = configs.tiny;

async function run(backend: "wasm" | "webgpu") {
  await setBackend(backend);
  const [kp, kb] = split(PRNGKey(3));
  const params = init(kp, config);
  const batch = exampleBatch(kb, config, { batch: 2 });
  const out = forward(params, batch, { config, train: false });
  const lossOf = (p: MirasolParams, b: MirasolBatch) => loss(p, b, { config, train: false }).total;
  const { value, grads } = valueAndGrad(lossOf)(params, batch);
  const read = async (t: tf.Tensor) => Array.from(await t.data());
  const result = {
    h: await read(out.h),
    logits: await read(out.logits),
    loss: (await value.data())[0],
    grads: await Promise.all(treeFlatten(grads).leaves.map(read)),
  };
  treeDispose([params, grads, value, out.u, out.x, out.h, out.logits]);
  tf.dispose(Object.values(batch));
  tf.dispose(Object.values(out.reconstruction).filter((t) => t !== undefined));
  return result;
}

const maxRelDiff = (a: number[], b: number[]) =>
  a.reduce((m, x, i) => Math.max(m, Math.abs(x - b[i]) / Math.max(1e-3, Math.abs(b[i]))), 0);

Deno.test("the tiny model's forward, loss and gradients on webgpu equal those on wasm", async () => {
  if (!(await hasWebGPU())) {
    if (Deno.env.get("MIRASOL_NO_WEBGPU") === "1") return;
    assert.fail("no WebGPU adapter: install mesa-vulkan-drivers, or set MIRASOL_NO_WEBGPU=1 to skip webgpu");
  }
  const wasm = await run("wasm");
  const gpu = await run("webgpu");
  await setBackend("wasm");
  assert.ok(maxRelDiff(gpu.h, wasm.h) < 1e-3, `h differs by ${maxRelDiff(gpu.h, wasm.h)}`);
  assert.ok(
    maxRelDiff(gpu.logits, wasm.logits) < 1e-3,
    `logits differ by ${maxRelDiff(gpu.logits, wasm.logits)}`,
  );
  assert.ok(Math.abs(gpu.loss - wasm.loss) / wasm.loss < 1e-4, `loss ${gpu.loss} vs ${wasm.loss}`);
  const worst = Math.max(...gpu.grads.map((g, i) => maxRelDiff(g, wasm.grads[i])));
  assert.ok(worst < 1e-2, `a gradient leaf differs by ${worst}`);
});
