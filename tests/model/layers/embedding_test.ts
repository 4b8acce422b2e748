import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { normal, PRNGKey, uniformValues } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import { DTypeError } from "../../../model/errors.ts";
import * as embedding from "../../../model/layers/embedding.ts";

await setBackend("wasm");

Deno.test("embedding.apply returns the table row of each id, for ids of any shape", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 20 }),
      fc.integer({ min: 1, max: 6 }),
      fc.array(fc.integer({ min: 1, max: 3 }), { maxLength: 3 }),
      fc.nat(),
      (V, D, shape, seed) => {
        const p = embedding.init(PRNGKey(seed), { vocab: V, dim: D });
        const n = shape.reduce((a, b) => a * b, 1);
        const ids = Array.from(uniformValues(PRNGKey(seed + 1), n), (u) => Math.floor(u * V));
        const y = embedding.apply(p, tf.tensor(ids, shape, "int32"));
        assert.deepEqual(y.shape, [...shape, D]);
        const table = p.table.dataSync(), Y = y.dataSync();
        ids.forEach((id, i) =>
          assert.deepEqual(
            Array.from(Y.slice(i * D, (i + 1) * D)),
            Array.from(table.slice(id * D, (id + 1) * D)),
          )
        );
        tf.dispose(y);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 4 },
  );
});

Deno.test("embedding.attend gives tied logits x . table^T (1e-5)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 6 }), fc.nat(), (V, D, seed) => {
      const p = embedding.init(PRNGKey(seed), { vocab: V, dim: D });
      const x = normal(PRNGKey(seed + 1), [2, 3, D]);
      const y = embedding.attend(p, x);
      assert.deepEqual(y.shape, [2, 3, V]);
      const X = x.dataSync(), T = p.table.dataSync(), Y = y.dataSync();
      for (let r = 0; r < 6; r++) {
        for (let v = 0; v < V; v++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += X[r * D + d] * T[v * D + d];
          assert.ok(Math.abs(Y[r * V + v] - s) <= 1e-5 * (1 + Math.abs(s)));
        }
      }
      tf.dispose([x, y]);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 6 },
  );
});

Deno.test("embedding.init draws rows with variance 1/D (Flax's default_embed_init)", () => {
  const p = embedding.init(PRNGKey(1), { vocab: 500, dim: 64 });
  const t = p.table.dataSync() as Float32Array;
  const variance = t.reduce((a, v) => a + v * v, 0) / t.length;
  assert.ok(Math.abs(variance - 1 / 64) < 0.1 / 64, `variance ${variance}`);
  treeDispose(p);
});

Deno.test("embedding.apply rejects float ids with a DTypeError naming the input", () => {
  const p = embedding.init(PRNGKey(1), { vocab: 5, dim: 2 });
  const ids = tf.tensor1d([1, 2]);
  assert.throws(
    () => embedding.apply(p, ids),
    (e: unknown) =>
      e instanceof DTypeError &&
      e.message === "Cannot apply embedding to ids: expected dtype int32, got float32",
  );
  tf.dispose(ids);
  treeDispose(p);
});
