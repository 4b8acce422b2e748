/**
 * Every layer gives the same outputs (1e-5) on cpu, wasm and webgpu. Params and inputs come from
 * keys (generated on the host), so each backend builds its own copies of identical numbers.
 *
 * WebGPU uses whatever adapter Deno finds (Mesa's llvmpipe software one on a machine without a
 * GPU). No adapter fails this test with a message saying so, unless MIRASOL_NO_WEBGPU=1 declares
 * that the machine has none, in which case only cpu and wasm are compared.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, hasWebGPU, setBackend } from "../../../transforms/backend.ts";
import { foldIn, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import * as dropout from "../../../model/layers/dropout.ts";
import * as position from "../../../model/layers/position.ts";
import { chunkCausalMask } from "../../../model/masks.ts";
import * as attention from "../../../model/layers/attention.ts";
import * as transformer from "../../../model/layers/transformer.ts";
import { normal } from "../../../transforms/random.ts";
import { SUBJECTS } from "./_catalogue.ts";

await setBackend("wasm");

type Computation = { readonly name: string; readonly run: () => tf.Tensor };

const computations: Computation[] = [
  ...SUBJECTS.map((s) => ({
    name: s.name,
    run: () => {
      const key = PRNGKey(2026);
      const params = s.init(key);
      const inputs = s.inputs(foldIn(key, 1));
      const y = tf.tidy(() => s.apply(params, inputs));
      tf.dispose(inputs);
      treeDispose(params);
      return y;
    },
  })),
  {
    name: "dropout (train, keyed)",
    run: () =>
      tf.tidy(() => dropout.apply(normal(PRNGKey(1), [4, 33]), { rate: 0.3, train: true, key: PRNGKey(2) })),
  },
  { name: "sinusoidal", run: () => position.sinusoidal(50, 16) },
  { name: "sincos3d", run: () => position.sincos3d([[0, 4, 8], [7, 100, 3]], 24) },
  {
    name: "transformer stack, cached decoding with cross-attention",
    run: () => {
      const p = transformer.initStack(PRNGKey(5), {
        depth: 2,
        block: { dim: 8, heads: 2, headDim: 4, mlpHidden: 16, cross: true },
      });
      const y = tf.tidy(() => {
        const x = normal(PRNGKey(6), [1, 4, 8]), context = normal(PRNGKey(7), [1, 3, 8]);
        const crossKV = transformer.stackCrossKV(p, context);
        let caches: attention.KVCache[] | null = null;
        const steps: tf.Tensor[] = [];
        for (let t = 0; t < 4; t++) {
          const out: { y: tf.Tensor; caches: attention.KVCache[] } = transformer.applyStackCached(
            p,
            tf.slice(x, [0, t, 0], [1, 1, 8]),
            caches,
            { crossKV },
          );
          steps.push(out.y);
          caches = out.caches;
        }
        return tf.concat(steps, 1);
      });
      treeDispose(p);
      return y;
    },
  },
  {
    name: "attention with a row that sees nothing",
    run: () => {
      const p = attention.init(PRNGKey(8), { dim: 6, heads: 2, headDim: 3 });
      const y = tf.tidy(() => {
        const mask = tf.logicalAnd(
          chunkCausalMask(2, 2),
          tf.tensor2d([0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1], [4, 4], "bool"),
        );
        return attention.apply(p, normal(PRNGKey(9), [2, 4, 6]), { mask });
      });
      treeDispose(p);
      return y;
    },
  },
];

async function outputsOn(
  backend: BackendName,
): Promise<Map<string, { shape: number[]; values: Float32Array }>> {
  await setBackend(backend);
  const out = new Map<string, { shape: number[]; values: Float32Array }>();
  for (const c of computations) {
    const y = c.run();
    out.set(c.name, { shape: y.shape, values: Float32Array.from(await y.data()) });
    y.dispose();
  }
  return out;
}

async function backendsToCompare(): Promise<BackendName[]> {
  if (await hasWebGPU()) return ["wasm", "cpu", "webgpu"];
  if (Deno.env.get("MIRASOL_NO_WEBGPU") === "1") {
    console.warn("MIRASOL_NO_WEBGPU=1: comparing cpu and wasm only");
    return ["wasm", "cpu"];
  }
  throw new Error(
    "Cannot compare layers on webgpu: Deno found no WebGPU adapter. Install Debian's mesa-vulkan-drivers " +
      "for the llvmpipe software adapter, or set MIRASOL_NO_WEBGPU=1 to compare cpu and wasm only.",
  );
}

Deno.test({
  name: "every layer gives the same outputs (1e-5) on cpu, wasm and webgpu",
  // the webgpu backend keeps a device and timers alive between tests
  sanitizeOps: false,
  sanitizeResources: false,
  fn: async () => {
    const backends = await backendsToCompare();
    try {
      const results = new Map<BackendName, Awaited<ReturnType<typeof outputsOn>>>();
      for (const b of backends) results.set(b, await outputsOn(b));
      const reference = results.get("wasm")!;
      const failures: string[] = [];
      for (const [backend, outputs] of results) {
        for (const [name, { shape, values }] of outputs) {
          const want = reference.get(name)!;
          assert.deepEqual(shape, want.shape, `${name}: shape on ${backend}`);
          assert.ok(values.every(Number.isFinite), `${name}: non-finite output on ${backend}`);
          const diff = values.reduce((m, v, i) => Math.max(m, Math.abs(v - want.values[i])), 0);
          if (diff > 1e-5) failures.push(`${name}: ${backend} differs from wasm by ${diff}`);
        }
      }
      assert.deepEqual(failures, []);
      assert.equal(results.size, backends.length);
    } finally {
      await setBackend("wasm");
    }
  },
});
