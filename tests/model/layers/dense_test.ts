import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose, treePaths } from "../../../transforms/tree.ts";
import { ConfigError } from "../../../model/errors.ts";
import * as dense from "../../../model/layers/dense.ts";

await setBackend("wasm");

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

Deno.test("dense.apply contracts the last inRank dims of x with w: a loop over rows and columns agrees (1e-5)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }), // leading dims
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }), // inDims
      fc.array(fc.integer({ min: 1, max: 4 }), { minLength: 1, maxLength: 2 }), // outDims
      fc.boolean(),
      fc.nat(),
      (lead, inDims, outDims, bias, seed) => {
        const p0 = dense.init(PRNGKey(seed), { inDim: inDims, outDims, bias });
        const p = bias ? { w: p0.w, b: normal(foldIn(PRNGKey(seed), 1), outDims) } : p0; // a non-zero bias
        const x = normal(foldIn(PRNGKey(seed), 2), [...lead, ...inDims]);
        const y = dense.apply(p, x, { inRank: inDims.length });
        assert.deepEqual(y.shape, [...lead, ...outDims]);
        const X = x.dataSync(), W = p.w.dataSync(), b = p.b?.dataSync(), Y = y.dataSync();
        const nIn = size(inDims), nOut = size(outDims);
        for (let r = 0; r < size(lead); r++) {
          for (let o = 0; o < nOut; o++) {
            let s = b ? b[o] : 0;
            for (let i = 0; i < nIn; i++) s += X[r * nIn + i] * W[i * nOut + o];
            assert.ok(
              Math.abs(Y[r * nOut + o] - s) <= 1e-5 * (1 + Math.abs(s)),
              `row ${r} col ${o}: ${Y[r * nOut + o]} vs ${s}`,
            );
          }
        }
        tf.dispose([x, y]);
        treeDispose([p0, p]);
      },
    ),
    { numRuns: 100, seed: 8 },
  );
});

Deno.test("dense.init: w [in, ...out] is xavier-uniform over fan-in and fan-out, b is zero, bias:false has no b", () => {
  const p = dense.init(PRNGKey(3), { inDim: 64, outDims: [4, 32] });
  assert.deepEqual(p.w.shape, [64, 4, 32]);
  assert.deepEqual(p.b!.shape, [4, 32]);
  assert.ok(p.b!.dataSync().every((v) => v === 0));
  const limit = Math.sqrt(6 / (64 + 128)), w = p.w.dataSync() as Float32Array;
  assert.ok(w.every((v) => Math.abs(v) <= limit));
  const std = Math.sqrt(w.reduce((a, v) => a + v * v, 0) / w.length);
  assert.ok(Math.abs(std - limit / Math.sqrt(3)) < 0.02 * limit, `std ${std}, want ${limit / Math.sqrt(3)}`);
  const nb = dense.init(PRNGKey(3), { inDim: 2, outDims: [3], bias: false });
  assert.deepEqual(treePaths(nb), ["w"]);
  treeDispose([p, nb]);
});

Deno.test("dense.init rejects empty or non-positive dimensions with a ConfigError", () => {
  assert.throws(() => dense.init(PRNGKey(0), { inDim: 4, outDims: [] }), ConfigError);
  assert.throws(
    () => dense.init(PRNGKey(0), { inDim: 0, outDims: [2] }),
    /must be a positive integer, got 0/,
  );
});
