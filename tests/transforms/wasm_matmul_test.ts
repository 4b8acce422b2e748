// transforms/wasm_matmul.ts: the fast-path wasm BatchMatMul computes what the cpu backend computes,
// for every transpose and batch form on both sides of the batched-size threshold, without leaks,
// deterministically, with the shipped kernel's errors and with gradients that still check out.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import {
  installWasmMatMul,
  uninstallWasmMatMul,
  WASM_MATMUL_MIN_BATCHED_MACS,
  wasmMatMulInstalled,
  type WasmMatMulRoute,
  wasmMatMulRoute,
} from "../../transforms/wasm_matmul.ts";
import { checkGradient, normal, rng } from "./gradients_numeric.ts";

await setBackend("wasm");

/** A generated product: op(a) is [..., M, K], op(b) is [..., K, N]. */
type Case = {
  readonly aShape: number[];
  readonly bShape: number[];
  readonly transposeA: boolean;
  readonly transposeB: boolean;
  readonly seed: number;
};

const f32 = (shape: readonly number[]) => ({ shape, dtype: "float32" });
const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const matrix = (rows: number, cols: number, t: boolean) => (t ? [cols, rows] : [rows, cols]);

/**
 * Batch dims: none, equal on both sides, one side only (absent or all ones), or a leading broadcast
 * ([3] against [2, 3]). Never both sides broadcast: tfjs 4.22 gets that wrong on every backend.
 */
const batchForm = fc.oneof(
  fc.constant({ a: [] as number[], b: [] as number[] }),
  fc.array(fc.integer({ min: 2, max: 3 }), { minLength: 1, maxLength: 2 }).map((d) => ({ a: d, b: d })),
  fc.tuple(fc.array(fc.integer({ min: 2, max: 3 }), { minLength: 1, maxLength: 2 }), fc.boolean())
    .chain(([d, ones]) =>
      fc.boolean().map((aSide) => {
        const other = ones ? d.map(() => 1) : [];
        return aSide ? { a: d, b: other } : { a: other, b: d };
      })
    ),
  fc.tuple(fc.integer({ min: 2, max: 3 }), fc.integer({ min: 2, max: 3 }), fc.boolean())
    .map(([x, y, aLong]) => (aLong ? { a: [x, y], b: [y] } : { a: [y], b: [x, y] })),
);

/** Small matrices, or ones at or above the batched threshold (128x64x128 = 2^20 multiply-adds). */
const dims = fc.oneof(
  fc.tuple(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 })),
  fc.tuple(
    fc.integer({ min: 128, max: 136 }),
    fc.integer({ min: 64, max: 72 }),
    fc.integer({ min: 128, max: 136 }),
  ),
);

const cases: fc.Arbitrary<Case> = fc.record({
  batch: batchForm,
  mkn: dims,
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
  seed: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
}).map(({ batch, mkn: [M, K, N], transposeA, transposeB, seed }) => ({
  aShape: [...batch.a, ...matrix(M, K, transposeA)],
  bShape: [...batch.b, ...matrix(K, N, transposeB)],
  transposeA,
  transposeB,
  seed,
}));

function values(seed: number, shape: readonly number[]): Float32Array {
  const r = rng(seed);
  return Float32Array.from({ length: size(shape) }, () => 2 * r() - 1);
}

/** The product on the active backend, read back; no tensor outlives the call. */
function product(
  c: Case,
  av: Float32Array,
  bv: Float32Array,
  abs = false,
): { values: Float32Array; shape: number[] } {
  return tf.tidy(() => {
    let a: tf.Tensor = tf.tensor(av, c.aShape), b: tf.Tensor = tf.tensor(bv, c.bShape);
    if (abs) [a, b] = [tf.abs(a), tf.abs(b)];
    const y = tf.matMul(a, b, c.transposeA, c.transposeB);
    return { values: y.dataSync() as Float32Array, shape: y.shape };
  });
}

const liveData = () => (tf.backend() as unknown as { numDataIds(): number }).numDataIds();

Deno.test("wasm matmul equals the cpu backend's for random shapes, transposes and batch forms", async () => {
  const seen: Record<WasmMatMulRoute, number> = { shipped: 0, fold: 0, loop: 0 };
  const agrees = async (c: Case) => {
    const route = wasmMatMulRoute(f32(c.aShape), f32(c.bShape), c.transposeA, c.transposeB);
    seen[route]++;
    const av = values(c.seed, c.aShape), bv = values(c.seed + 1, c.bShape);
    await setBackend("wasm");
    const [tensors, data] = [tf.memory().numTensors, liveData()];
    const got = product(c, av, bv), again = product(c, av, bv);
    const label = `route ${route}`;
    assert.deepEqual(
      [tf.memory().numTensors, liveData()],
      [tensors, data],
      `leaked tensors or data: ${label}`,
    );
    assert.deepEqual(again.values, got.values, `two runs differ: ${label}`);
    await setBackend("cpu");
    const want = product(c, av, bv), bound = product(c, av, bv, true); // bound: |op(a)| . |op(b)|
    assert.deepEqual(got.shape, want.shape, `shape: ${label}`);
    // float32 dot products of length K, summed in any order, differ by at most ~2 K eps |a|.|b|.
    const K = c.transposeA ? c.aShape.at(-2)! : c.aShape.at(-1)!;
    const tol = 2 * K * 2 ** -24;
    for (let i = 0; i < want.values.length; i++) {
      const err = Math.abs(got.values[i] - want.values[i]);
      assert.ok(
        err <= tol * bound.values[i] + 1e-30,
        `element ${i}: wasm ${got.values[i]}, cpu ${want.values[i]}: ${label}`,
      );
    }
  };
  await fc.assert(fc.asyncProperty(cases, agrees), { numRuns: 100, seed: 20261124 });
  await setBackend("wasm");
  for (const route of ["shipped", "fold", "loop"] as const) {
    assert.ok(seen[route] >= 10, `only ${seen[route]} generated cases take the ${route} route`);
  }
});

Deno.test("dense-layer backward products leave the naive loop; small attention products keep it", () => {
  // Linear [B*T, D] x [D, E]: dX = dY . W^T, dW = X^T . dY.
  assert.equal(wasmMatMulRoute(f32([64, 256]), f32([512, 256]), false, true), "fold");
  assert.equal(wasmMatMulRoute(f32([64, 512]), f32([64, 256]), true, false), "fold");
  // Linear on [B, T, D] against [D, E]: forward and dX fold the batch into rows, dW loops over B.
  assert.equal(wasmMatMulRoute(f32([2, 64, 512]), f32([512, 256]), false, false), "fold");
  assert.equal(wasmMatMulRoute(f32([2, 64, 512]), f32([2, 64, 256]), true, false), "loop");
  // Already XNNPACK's.
  assert.equal(wasmMatMulRoute(f32([64, 512]), f32([512, 256]), false, false), "shipped");
  // Per-head attention [B, H, T, Dh]: shipped below the threshold, one call per head above it.
  assert.equal(wasmMatMulRoute(f32([2, 4, 41, 41]), f32([2, 4, 41, 64]), false, false), "shipped");
  assert.equal(wasmMatMulRoute(f32([2, 4, 41, 41]), f32([2, 4, 41, 64]), true, false), "shipped");
  assert.equal(wasmMatMulRoute(f32([2, 4, 41, 64]), f32([2, 4, 41, 64]), false, true), "shipped");
  assert.equal(128 * 64 * 128, WASM_MATMUL_MIN_BATCHED_MACS);
  assert.equal(wasmMatMulRoute(f32([2, 4, 128, 64]), f32([2, 4, 128, 64]), false, true), "loop");
  assert.equal(wasmMatMulRoute(f32([2, 4, 128, 128]), f32([2, 4, 128, 64]), false, false), "loop");
  assert.equal(wasmMatMulRoute(f32([2, 4, 127, 128]), f32([2, 4, 128, 64]), false, false), "shipped");
  // Other dtypes and both-sided broadcasts stay on the shipped kernel.
  assert.equal(
    wasmMatMulRoute({ shape: [4, 8], dtype: "int32" }, { shape: [4, 8], dtype: "int32" }, false, true),
    "shipped",
  );
  assert.equal(wasmMatMulRoute(f32([1, 3, 80, 80]), f32([3, 1, 80, 80]), true, false), "shipped");
});

Deno.test("setBackend('wasm') installs the fast path once, and uninstall restores the shipped kernel", async () => {
  await setBackend("wasm");
  assert.ok(wasmMatMulInstalled());
  const installed = tf.getKernel("BatchMatMul", "wasm")!.kernelFunc;
  installWasmMatMul();
  await setBackend("wasm");
  assert.equal(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc, installed, "installing twice wraps twice");
  uninstallWasmMatMul();
  try {
    assert.ok(!wasmMatMulInstalled());
    assert.notEqual(tf.getKernel("BatchMatMul", "wasm")!.kernelFunc, installed);
    uninstallWasmMatMul(); // idempotent
    assert.ok(!wasmMatMulInstalled());
  } finally {
    installWasmMatMul();
  }
  assert.ok(wasmMatMulInstalled());
});

Deno.test("bad shapes and dtypes fail with the shipped kernel's errors", async () => {
  await setBackend("wasm");
  const bad: [number[], number[], boolean, boolean, tf.DataType][] = [
    [[3, 5], [4, 6], false, false, "float32"], // inner 5 vs 4
    [[3, 5], [6, 5], true, true, "float32"], // inner 3 vs 5
    [[2, 3, 5], [3, 5, 4], false, false, "float32"], // batch 2 vs 3
    [[4, 8], [4, 8], false, true, "int32"],
  ];
  const message = (fn: () => unknown) => {
    try {
      tf.tidy(() => void fn());
    } catch (e) {
      return (e as Error).message;
    }
    return "no error";
  };
  for (const [as, bs, ta, tb, dtype] of bad) {
    const run = () => tf.matMul(tf.ones(as, dtype), tf.ones(bs, dtype), ta, tb);
    const fast = message(run);
    uninstallWasmMatMul();
    const shipped = message(run);
    installWasmMatMul();
    assert.notEqual(shipped, "no error", `${as} x ${bs} should fail`);
    assert.equal(fast, shipped);
  }
});

Deno.test("gradients through fast-path matmuls match finite differences", async () => {
  await setBackend("wasm");
  const shapes: [number[], number[], boolean, boolean][] = [
    [[3, 5], [4, 5], false, true],
    [[5, 3], [5, 4], true, false],
    [[5, 3], [4, 5], true, true],
    [[2, 3, 5], [5, 4], false, false],
    [[2, 5, 3], [4, 5], true, true],
  ];
  shapes.forEach(([as, bs, ta, tb], i) => {
    assert.notEqual(wasmMatMulRoute(f32(as), f32(bs), ta, tb), "shipped");
    const { error, worst } = checkGradient({
      kernel: "BatchMatMul",
      name: `${as} x ${bs}`,
      inputs: (r) => [normal(r, as), normal(r, bs)],
      f: (a, b) => tf.matMul(a, b, ta, tb),
    }, i);
    assert.ok(
      error < 5e-3,
      `${as} x ${bs} (${ta}, ${tb}): relative error ${error.toExponential(2)} at ${worst}`,
    );
  });
});

Deno.test("gradients through batched products above the threshold equal the cpu backend's", async () => {
  // Finite differences over 2x64x128 inputs would take minutes; the cpu backend's gradient (checked
  // against finite differences by the gradient suites) is the reference instead.
  const c: Case = {
    aShape: [2, 64, 128],
    bShape: [2, 64, 128],
    transposeA: true,
    transposeB: false,
    seed: 7,
  };
  assert.equal(wasmMatMulRoute(f32(c.aShape), f32(c.bShape), true, false), "loop");
  const av = values(c.seed, c.aShape),
    bv = values(c.seed + 1, c.bShape),
    wv = values(c.seed + 2, [2, 128, 128]);
  const grads = () =>
    tf.tidy(() => {
      const w = tf.tensor(wv, [2, 128, 128]);
      const loss = (a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(tf.matMul(a, b, true, false), w));
      return tf.grads(loss)([tf.tensor(av, c.aShape), tf.tensor(bv, c.bShape)]).map((g) => g.dataSync());
    });
  await setBackend("wasm");
  const got = grads();
  await setBackend("cpu");
  const want = grads();
  await setBackend("wasm");
  got.forEach((g, k) => {
    const scale = Math.max(...Array.from(want[k], Math.abs));
    for (let i = 0; i < g.length; i++) {
      assert.ok(
        Math.abs(g[i] - want[k][i]) <= 1e-5 * scale,
        `grad ${k} element ${i}: ${g[i]} vs ${want[k][i]}`,
      );
    }
  });
});
