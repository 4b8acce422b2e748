import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, normal, PRNGKey } from "../../../transforms/random.ts";
import * as layerNorm from "../../../model/layers/layer_norm.ts";

await setBackend("wasm");

Deno.test("layerNorm.apply normalises each row over the last axis, then scales and shifts (1e-5 against a loop)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 9 }),
      fc.double({ min: 1e-6, max: 1e-2, noNaN: true }),
      fc.nat(),
      (rows, D, eps, seed) => {
        const key = PRNGKey(seed);
        const p = {
          scale: normal(foldIn(key, 1), [D]) as tf.Tensor1D,
          bias: normal(foldIn(key, 2), [D]) as tf.Tensor1D,
        };
        const x = normal(foldIn(key, 3), [rows, D], { mean: 3, std: 2 });
        const y = layerNorm.apply(p, x, { eps });
        const X = x.dataSync(), Y = y.dataSync(), g = p.scale.dataSync(), b = p.bias.dataSync();
        for (let r = 0; r < rows; r++) {
          const row = Array.from(X.slice(r * D, (r + 1) * D));
          const mean = row.reduce((a, v) => a + v, 0) / D;
          const variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
          row.forEach((v, d) => {
            const want = ((v - mean) / Math.sqrt(variance + eps)) * g[d] + b[d];
            assert.ok(
              Math.abs(Y[r * D + d] - want) <= 1e-5 * (1 + Math.abs(want)),
              `(${r}, ${d}): ${Y[r * D + d]} vs ${want}`,
            );
          });
        }
        tf.dispose([p.scale, p.bias, x, y]);
      },
    ),
    { numRuns: 100, seed: 12 },
  );
});

Deno.test("layerNorm of a constant row is its bias (no NaN: eps keeps the division finite)", () => {
  const p = layerNorm.init(PRNGKey(0), { dim: 4 });
  const y = layerNorm.apply(p, tf.fill([2, 4], 7));
  assert.deepEqual(Array.from(y.dataSync()), new Array(8).fill(0));
  tf.dispose([y, p.scale, p.bias]);
});
