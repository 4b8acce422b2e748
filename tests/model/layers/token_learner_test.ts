import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import * as tokenLearner from "../../../model/layers/token_learner.ts";

await setBackend("wasm");

const arb = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  N: fc.integer({ min: 1, max: 9 }),
  D: fc.integer({ min: 1, max: 8 }),
  S: fc.integer({ min: 1, max: 5 }),
  seed: fc.nat(),
});

Deno.test("tokenLearner weights sum to 1 over the inputs: a constant input comes out as that constant", () => {
  fc.assert(
    fc.property(arb, fc.double({ min: -5, max: 5, noNaN: true }), ({ B, N, D, S, seed }, c) => {
      const p = tokenLearner.init(PRNGKey(seed), { dim: D, outTokens: S, hidden: 8 });
      const y = tokenLearner.apply(p, tf.fill([B, N, D], c));
      assert.deepEqual(y.shape, [B, S, D]);
      assert.ok(
        y.dataSync().every((v) => Math.abs(v - c) <= 1e-5 * (1 + Math.abs(c))),
        `constant ${c} not preserved`,
      );
      tf.dispose(y);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 21 },
  );
});

Deno.test("tokenLearner selection weights are positive and each output's row over the N inputs sums to 1", () => {
  fc.assert(
    fc.property(arb, ({ B, N, D, S, seed }) => {
      const p = tokenLearner.init(PRNGKey(seed), { dim: D, outTokens: S, hidden: 8 });
      const w = tf.tidy(() =>
        tokenLearner.selectionWeights(p, normal(PRNGKey(seed + 1), [B, N, D], { std: 3 }))
      );
      assert.deepEqual(w.shape, [B, S, N]);
      const v = w.dataSync();
      for (let r = 0; r < B * S; r++) {
        const row = Array.from(v.slice(r * N, (r + 1) * N));
        assert.ok(row.every((e) => e > 0));
        assert.ok(Math.abs(row.reduce((a, e) => a + e, 0) - 1) <= 1e-5);
      }
      tf.dispose(w);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 22 },
  );
});

Deno.test("tokenLearner is a set function: permuting the input tokens leaves the output unchanged (1e-5)", () => {
  fc.assert(
    fc.property(arb, ({ B, N, D, S, seed }) => {
      const p = tokenLearner.init(PRNGKey(seed), { dim: D, outTokens: S, hidden: 8 });
      const order = Array.from({ length: N }, (_, i) => (i * 5 + seed) % N);
      const unique = new Set(order).size === N ? order : Array.from({ length: N }, (_, i) => N - 1 - i);
      const diff = tf.tidy(() => {
        const x = normal(PRNGKey(seed + 1), [B, N, D]);
        const shuffled = tf.gather(x, tf.tensor1d(unique, "int32"), 1);
        return tf.max(tf.abs(tf.sub(tokenLearner.apply(p, x), tokenLearner.apply(p, shuffled))))
          .dataSync()[0];
      });
      assert.ok(diff <= 1e-5, `permutation changed the output by ${diff}`);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 23 },
  );
});

Deno.test("tokenLearner follows scenic V1.1: softmax over inputs of MLP(LN(x)) with the tanh GELU, weighting the raw x", () => {
  const B = 1, N = 5, D = 4, S = 3, H = 6;
  const p = tokenLearner.init(PRNGKey(2), { dim: D, outTokens: S, hidden: H });
  const scale = normal(foldIn(PRNGKey(2), 7), [D]), bias = normal(foldIn(PRNGKey(2), 8), [D]);
  const q = { ...p, ln: { scale: scale as tf.Tensor1D, bias: bias as tf.Tensor1D } };
  const x = normal(PRNGKey(3), [B, N, D], { mean: 1, std: 2 });
  const X = x.dataSync(), g = scale.dataSync(), be = bias.dataSync();
  const [w1, b1, w2, b2] = [q.mlp.fc1.w, q.mlp.fc1.b!, q.mlp.fc2.w, q.mlp.fc2.b!].map((t) => t.dataSync());
  const gelu = (v: number) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3)));
  const logits = Array.from({ length: N }, (_, n) => {
    const row = Array.from(X.slice(n * D, (n + 1) * D));
    const mean = row.reduce((a, v) => a + v, 0) / D,
      variance = row.reduce((a, v) => a + (v - mean) ** 2, 0) / D;
    const ln = row.map((v, d) => ((v - mean) / Math.sqrt(variance + 1e-6)) * g[d] + be[d]);
    const h = Array.from({ length: H }, (_, j) => gelu(ln.reduce((a, v, d) => a + v * w1[d * H + j], b1[j])));
    return Array.from({ length: S }, (_, s) => h.reduce((a, v, j) => a + v * w2[j * S + s], b2[s]));
  });
  const y = tokenLearner.apply(q, x).dataSync();
  for (let s = 0; s < S; s++) {
    const m = Math.max(...logits.map((l) => l[s]));
    const e = logits.map((l) => Math.exp(l[s] - m)), z = e.reduce((a, v) => a + v, 0);
    for (let d = 0; d < D; d++) {
      const want = e.reduce((a, v, n) => a + (v / z) * X[n * D + d], 0);
      assert.ok(Math.abs(y[s * D + d] - want) <= 1e-5, `output (${s}, ${d}): ${y[s * D + d]} vs ${want}`);
    }
  }
  treeDispose([p, scale, bias, x]);
});

Deno.test("tokenLearner init: xavier kernels and tiny normal(1e-6) biases, as scenic's MlpBlock", () => {
  const p = tokenLearner.init(PRNGKey(4), { dim: 16, outTokens: 8 });
  assert.deepEqual(p.mlp.fc1.w.shape, [16, 64]);
  const b = Array.from(p.mlp.fc1.b!.dataSync());
  assert.ok(b.some((v) => v !== 0) && b.every((v) => Math.abs(v) < 1e-5));
  treeDispose(p);
});
