import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { hasWebGPU, setBackend } from "../../transforms/backend.ts";
import { threefry2x32 } from "../../transforms/threefry.ts";
import {
  bernoulli,
  foldIn,
  keyFromWords,
  keysFor,
  normal,
  PRNGKey,
  split,
  truncatedNormal,
  uniform,
} from "../../transforms/random.ts";

await setBackend("wasm");

const hex = (xs: ArrayLike<number>) => Array.from(xs, (x) => "0x" + x.toString(16).padStart(8, "0"));

Deno.test("threefry2x32 reproduces the Random123 known-answer vectors (20 rounds)", () => {
  const out = new Uint32Array(2);
  const cases: [number, number, number, number, number, number][] = [
    [0, 0, 0, 0, 0x6b200159, 0x99ba4efe],
    [0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0x1cb996fc, 0xbb002be7],
    [0x13198a2e, 0x03707344, 0x243f6a88, 0x85a308d3, 0xc4923a9c, 0x483df7a0],
  ];
  for (const [k0, k1, x0, x1, y0, y1] of cases) {
    threefry2x32(k0, k1, x0, x1, out);
    assert.deepEqual(hex(out), hex([y0, y1]));
  }
});

Deno.test("split(PRNGKey(0)) gives the keys jax.random.split gives (non-partitionable threefry)", () => {
  assert.deepEqual(split(PRNGKey(0)).map((k) => [...k]), [[4146024105, 967050713], [2718843009, 1272950319]]);
});

Deno.test("normal(PRNGKey(0), [1]) is jax.random.normal's -0.20584226", () => {
  const [z] = normal(PRNGKey(0), [1]).dataSync();
  assert.ok(Math.abs(z - -0.20584226) < 1e-6, `got ${z}`);
});

Deno.test("split keys never repeat: not the parent, not each other, not their own children", () => {
  fc.assert(
    fc.property(fc.nat(), fc.integer({ min: 2, max: 16 }), (seed, n) => {
      const root = PRNGKey(seed);
      const children = split(root, n);
      const grandchildren = children.flatMap((k) => split(k, n));
      const all = [root, ...children, ...grandchildren, ...children.map((k, i) => foldIn(k, i))];
      assert.equal(new Set(all.map((k) => k.join(","))).size, all.length);
    }),
    { numRuns: 200, seed: 42 },
  );
});

Deno.test("keysFor derives keys by name: adding a sibling leaves the others' keys unchanged", () => {
  const key = PRNGKey(7);
  const a = keysFor(key, ["q", "k"]);
  const b = keysFor(key, ["q", "k", "v"]);
  assert.deepEqual([...a.q], [...b.q]);
  assert.deepEqual([...a.k], [...b.k]);
  assert.notDeepEqual([...b.q], [...b.v]);
});

Deno.test("keys are plain data: keyFromWords round-trips and bad seeds fail with a message", () => {
  const k = split(PRNGKey(3))[1];
  assert.deepEqual(keyFromWords(Array.from(k)), k);
  assert.throws(() => PRNGKey(-1), /seed -1/);
  assert.throws(() => PRNGKey(1.5), /seed 1.5/);
  assert.throws(() => split(k, 0), /0 keys/);
});

Deno.test("samplers have the moments they promise", () => {
  const n = 200_000;
  const stats = (t: tf.Tensor) => {
    const v = Array.from(t.dataSync());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const std = Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length);
    return { mean, std, min: v.reduce((a, b) => Math.min(a, b)), max: v.reduce((a, b) => Math.max(a, b)) };
  };
  const z = stats(normal(PRNGKey(1), [n], { mean: 3, std: 2 }));
  assert.ok(Math.abs(z.mean - 3) < 0.02 && Math.abs(z.std - 2) < 0.02, JSON.stringify(z));
  const u = stats(uniform(PRNGKey(2), [n], { min: -1, max: 3 }));
  assert.ok(u.min >= -1 && u.max < 3 && Math.abs(u.mean - 1) < 0.02, JSON.stringify(u));
  const t = stats(truncatedNormal(PRNGKey(3), [n]));
  assert.ok(t.min >= -2 && t.max <= 2 && Math.abs(t.std - 0.8796) < 0.01, JSON.stringify(t));
  const b = bernoulli(PRNGKey(4), 0.25, [n]);
  assert.equal(b.dtype, "bool");
  const frac = Array.from(b.dataSync()).reduce((a, x) => a + x, 0) / n;
  assert.ok(Math.abs(frac - 0.25) < 0.01, `fraction ${frac}`);
});

Deno.test("the same key gives the same numbers on cpu, wasm and webgpu", async () => {
  const backends = ["cpu", "wasm", ...((await hasWebGPU()) ? ["webgpu" as const] : [])] as const;
  if (!backends.includes("webgpu" as never) && Deno.env.get("MIRASOL_NO_WEBGPU") !== "1") {
    assert.fail("no WebGPU adapter: install mesa-vulkan-drivers, or set MIRASOL_NO_WEBGPU=1 to skip webgpu");
  }
  const draw = () => {
    const key = PRNGKey(11);
    const [a, b, c] = split(key, 3);
    return [
      normal(a, [257]),
      uniform(b, [3, 5]),
      truncatedNormal(c, [64], { std: 0.02 }),
      bernoulli(key, 0.5, [33]),
    ]
      .map((t) => Array.from(t.dataSync()));
  };
  const results: Record<string, number[][]> = {};
  for (const name of backends) {
    await setBackend(name);
    results[name] = draw();
  }
  await setBackend("wasm");
  for (const name of backends) assert.deepEqual(results[name], results.cpu, `${name} differs from cpu`);
});
