import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, normal, PRNGKey, uniformValues } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import { causalMask } from "../../../model/masks.ts";
import { ConfigError, ShapeError } from "../../../model/errors.ts";
import * as attention from "../../../model/layers/attention.ts";

await setBackend("wasm");

const host = (t: tf.Tensor) => Array.from(t.dataSync());
const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);

/**
 * Multi-head attention written out with loops: q/k/v projections, softmax(q.k/sqrt(Dh)) over the
 * visible keys only (a row with none gives zeros), then the out projection. x [B, Tq, D], ctx [B, Tk, Dk].
 */
function naiveAttention(
  p: attention.AttentionParams,
  x: tf.Tensor,
  ctx: tf.Tensor,
  mask?: boolean[][],
  bias?: number[][],
): Float32Array {
  const [B, Tq, D] = x.shape, [, Tk, Dk] = ctx.shape;
  const [, H, Dh] = p.q.w.shape;
  const X = host(x), C = host(ctx);
  const [qw, qb, kw, kb, vw, vb, ow, ob] = [p.q.w, p.q.b!, p.k.w, p.k.b!, p.v.w, p.v.b!, p.out.w, p.out.b!]
    .map(host);
  const proj = (
    src: number[],
    w: number[],
    bb: number[],
    din: number,
    b: number,
    t: number,
    h: number,
    e: number,
  ) => {
    let s = bb[h * Dh + e];
    for (let i = 0; i < din; i++) {
      s += src[(b * (src === X ? Tq : Tk) + t) * din + i] * w[i * H * Dh + h * Dh + e];
    }
    return s;
  };
  const out = new Float32Array(B * Tq * D);
  for (let b = 0; b < B; b++) {
    for (let t = 0; t < Tq; t++) {
      const heads: number[] = new Array(H * Dh).fill(0);
      for (let h = 0; h < H; h++) {
        const q = Array.from({ length: Dh }, (_, e) => proj(X, qw, qb, D, b, t, h, e));
        const logits: number[] = [];
        for (let s = 0; s < Tk; s++) {
          let dot = 0;
          for (let e = 0; e < Dh; e++) dot += q[e] * proj(C, kw, kb, Dk, b, s, h, e);
          logits.push(dot / Math.sqrt(Dh) + (bias ? bias[t][s] : 0));
        }
        const vis = logits.map((_, s) => (mask ? mask[t][s] : true));
        if (!vis.some((v) => v)) continue; // sees nothing: zero
        const m = Math.max(...logits.filter((_, s) => vis[s]));
        const w = logits.map((l, s) => (vis[s] ? Math.exp(l - m) : 0));
        const z = w.reduce((a, c) => a + c, 0);
        for (let s = 0; s < Tk; s++) {
          for (let e = 0; e < Dh; e++) heads[h * Dh + e] += (w[s] / z) * proj(C, vw, vb, Dk, b, s, h, e);
        }
      }
      for (let d = 0; d < D; d++) {
        let s = ob[d];
        for (let i = 0; i < H * Dh; i++) s += heads[i] * ow[i * D + d];
        out[(b * Tq + t) * D + d] = s;
      }
    }
  }
  return out;
}

/** Random biases too (init makes them zero), so the oracle checks where each bias goes. */
function randomParams(seed: number, c: attention.AttentionConfig): attention.AttentionParams {
  const p = attention.init(PRNGKey(seed), c);
  const jitter = (t: tf.Tensor, i: number) =>
    tf.add(t, normal(foldIn(PRNGKey(seed), 100 + i), t.shape, { std: 0.5 }));
  const withBias = (d: { w: tf.Tensor; b?: tf.Tensor }, i: number) => ({ w: d.w, b: jitter(d.b!, i) });
  const out = { q: withBias(p.q, 0), k: withBias(p.k, 1), v: withBias(p.v, 2), out: withBias(p.out, 3) };
  tf.dispose([p.q.b!, p.k.b!, p.v.b!, p.out.b!]);
  return out;
}

const shapes = fc.record({
  B: fc.integer({ min: 1, max: 2 }),
  Tq: fc.integer({ min: 1, max: 5 }),
  Tk: fc.integer({ min: 1, max: 5 }),
  D: fc.integer({ min: 1, max: 6 }),
  Dk: fc.integer({ min: 1, max: 6 }),
  H: fc.integer({ min: 1, max: 3 }),
  Dh: fc.integer({ min: 1, max: 4 }),
  seed: fc.nat(),
});

Deno.test("attention.apply (cross, with a random mask and bias) equals multi-head attention written out with loops", () => {
  fc.assert(
    fc.property(shapes, ({ B, Tq, Tk, D, Dk, H, Dh, seed }) => {
      const p = randomParams(seed, { dim: D, heads: H, headDim: Dh, kvDim: Dk });
      const key = PRNGKey(seed);
      const x = normal(foldIn(key, 1), [B, Tq, D]), ctx = normal(foldIn(key, 2), [B, Tk, Dk]);
      const u = uniformValues(foldIn(key, 3), Tq * Tk);
      const mask = Array.from(
        { length: Tq },
        (_, i) => Array.from({ length: Tk }, (_, j) => u[i * Tk + j] < 0.6),
      );
      const bias = Array.from(
        { length: Tq },
        (_, i) => Array.from({ length: Tk }, (_, j) => 3 * (u[i * Tk + j] - 0.5)),
      );
      const y = tf.tidy(() =>
        attention.apply(p, x, {
          context: ctx,
          mask: tf.tensor2d(mask.flat().map(Number), [Tq, Tk], "bool"),
          bias: tf.tensor2d(bias),
        })
      );
      const want = naiveAttention(p, x, ctx, mask, bias);
      const got = y.dataSync();
      assert.ok(
        got.every((v, i) => Math.abs(v - want[i]) <= 1e-5 * (1 + Math.abs(want[i]))),
        `max diff ${Math.max(...got.map((v, i) => Math.abs(v - want[i])))}`,
      );
      tf.dispose([x, ctx, y]);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 17 },
  );
});

Deno.test("attention: a query row that may attend to nothing gives the out-projection bias, never NaN", () => {
  const p = randomParams(1, { dim: 4, heads: 2, headDim: 3 });
  const y = tf.tidy(() => {
    const x = normal(PRNGKey(2), [1, 3, 4]);
    const mask = tf.tensor2d([[0, 0, 0], [1, 0, 0], [1, 1, 0]], [3, 3], "bool"); // row 0 sees nothing
    return attention.apply(p, x, { mask });
  });
  const v = y.dataSync();
  assert.ok(v.every(Number.isFinite));
  assert.deepEqual(Array.from(v.slice(0, 4)), Array.from(p.out.b!.dataSync()));
  tf.dispose(y);
  treeDispose(p);
});

Deno.test("attention accepts 0/1 float and bool masks alike, and a [B, 1, Tq, Tk] mask per example", () => {
  const p = attention.init(PRNGKey(4), { dim: 6, heads: 2, headDim: 3 });
  const same = tf.tidy(() => {
    const x = normal(PRNGKey(5), [2, 4, 6]);
    const m = [1, 0, 0, 0, 1, 1, 0, 0, 1, 1, 1, 0, 1, 1, 1, 1];
    const a = attention.apply(p, x, { mask: tf.tensor2d(m, [4, 4], "bool") });
    const b = attention.apply(p, x, { mask: tf.tensor2d(m, [4, 4], "float32") });
    const c = attention.apply(p, x, { mask: tf.tensor4d([...m, ...m], [2, 1, 4, 4], "int32") });
    return [maxDiff(a, b), maxDiff(a, c)];
  });
  assert.deepEqual(same, [0, 0]);
  treeDispose(p);
});

Deno.test("attention rejects a mask that does not broadcast to [B, H, Tq, Tk], naming the mask", () => {
  const p = attention.init(PRNGKey(4), { dim: 6, heads: 2, headDim: 3 });
  const x = tf.zeros([2, 4, 6]), mask = tf.ones([4, 5], "bool");
  assert.throws(
    () => attention.apply(p, x, { mask }),
    (e: unknown) =>
      e instanceof ShapeError && e.input === "mask" &&
      /broadcastable to \[B=2, H=2, Tq=4, Tk=4\]/.test(e.message),
  );
  tf.dispose([x, mask]);
  treeDispose(p);
});

Deno.test("attention.applyCached, one token at a time, equals full causal attention (1e-5)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 2 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 1, max: 3 }),
      fc.nat(),
      (B, L, H, seed) => {
        const p = randomParams(seed, { dim: 5, heads: H, headDim: 3 });
        const diff = tf.tidy(() => {
          const x = normal(PRNGKey(seed), [B, L, 5]);
          const full = attention.apply(p, x, { mask: causalMask(L) });
          let cache: attention.KVCache | null = null;
          const steps: tf.Tensor[] = [];
          for (let t = 0; t < L; t++) {
            const out = attention.applyCached(p, tf.slice(x, [0, t, 0], [B, 1, 5]), cache);
            assert.deepEqual(out.cache.k.shape, [B, H, t + 1, 3]);
            steps.push(out.y);
            cache = out.cache;
          }
          return maxDiff(full, tf.concat(steps, 1));
        });
        assert.ok(diff <= 1e-5, `cached decoding differs by ${diff}`);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 23 },
  );
});

Deno.test("attention.applyCached on blocks of new tokens with causalMask(Tn, S + Tn) equals full causal attention", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 3 }), { minLength: 1, maxLength: 4 }),
      fc.nat(),
      (blocks, seed) => {
        const p = randomParams(seed, { dim: 4, heads: 2, headDim: 2 });
        const L = blocks.reduce((a, b) => a + b, 0);
        const diff = tf.tidy(() => {
          const x = normal(PRNGKey(seed), [1, L, 4]);
          const full = attention.apply(p, x, { mask: causalMask(L) });
          let cache: attention.KVCache | null = null, start = 0;
          const steps: tf.Tensor[] = [];
          for (const n of blocks) {
            const out = attention.applyCached(p, tf.slice(x, [0, start, 0], [1, n, 4]), cache, {
              mask: causalMask(n, start + n),
            });
            steps.push(out.y);
            cache = out.cache;
            start += n;
          }
          return maxDiff(full, tf.concat(steps, 1));
        });
        assert.ok(diff <= 1e-5, `block-cached decoding differs by ${diff}`);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 29 },
  );
});

Deno.test("attention.crossKV + applyWithKV equals apply with the context (1e-5)", () => {
  fc.assert(
    fc.property(shapes, ({ B, Tq, Tk, D, Dk, H, Dh, seed }) => {
      const p = randomParams(seed, { dim: D, heads: H, headDim: Dh, kvDim: Dk });
      const diff = tf.tidy(() => {
        const x = normal(PRNGKey(seed), [B, Tq, D]), ctx = normal(foldIn(PRNGKey(seed), 1), [B, Tk, Dk]);
        const mask = tf.tensor2d(
          Array.from({ length: Tq * Tk }, (_, i) => (i % 3 ? 1 : 0)),
          [Tq, Tk],
          "bool",
        );
        const kv = attention.crossKV(p, ctx);
        assert.deepEqual(kv.k.shape, [B, H, Tk, Dh]);
        return maxDiff(
          attention.applyWithKV(p, x, kv, { mask }),
          attention.apply(p, x, { context: ctx, mask }),
        );
      });
      assert.ok(diff <= 1e-5, `precomputed cross keys/values differ by ${diff}`);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 31 },
  );
});

Deno.test("attention.applyCached projects only the new tokens: no matmul sees the S cached positions as rows", async () => {
  const p = attention.init(PRNGKey(7), { dim: 8, heads: 2, headDim: 4 });
  const S = 40;
  const cache = tf.tidy(() => attention.applyCached(p, normal(PRNGKey(8), [1, S, 8]), null).cache);
  const x = normal(PRNGKey(9), [1, 1, 8]);
  const profile = await tf.profile(() => {
    const out = attention.applyCached(p, x, cache);
    tf.dispose([out.y, out.cache.k, out.cache.v]);
  });
  const matmuls = profile.kernels.filter((k) => k.name === "BatchMatMul");
  assert.ok(matmuls.length > 0);
  // One new token: every projection, q.k and probs.v has a single row; re-projecting the cache would give S + 1.
  const rowsOfAll = matmuls.map((k) => k.inputShapes[0]![k.inputShapes[0]!.length - 2]);
  assert.ok(
    rowsOfAll.every((r) => r === 1),
    `some matmul ran over the cache as rows: ${JSON.stringify(rowsOfAll)}`,
  );
  tf.dispose([x, cache.k, cache.v]);
  treeDispose(p);
});

Deno.test("attention dropout: train=false ignores the rate; train=true drops reproducibly by key", () => {
  const p = attention.init(PRNGKey(3), { dim: 6, heads: 2, headDim: 3 });
  const [evalDiff, sameKey, otherKey] = tf.tidy(() => {
    const x = normal(PRNGKey(4), [1, 5, 6]);
    const plain = attention.apply(p, x);
    const a = attention.apply(p, x, { dropout: 0.5, train: true, key: PRNGKey(1) });
    return [
      maxDiff(plain, attention.apply(p, x, { dropout: 0.5, train: false })),
      maxDiff(a, attention.apply(p, x, { dropout: 0.5, train: true, key: PRNGKey(1) })),
      maxDiff(a, attention.apply(p, x, { dropout: 0.5, train: true, key: PRNGKey(2) })),
    ];
  });
  assert.equal(evalDiff, 0);
  assert.equal(sameKey, 0);
  assert.ok(otherKey > 0);
  treeDispose(p);
});

Deno.test("attention built for a context of another width refuses to run as self-attention (ConfigError, not a shape crash)", () => {
  const p = attention.init(PRNGKey(0), { dim: 6, heads: 2, headDim: 3, kvDim: 4 });
  const x = tf.zeros([1, 2, 6]);
  assert.throws(
    () => attention.apply(p, x),
    (e: unknown) => e instanceof ConfigError && /kvDim 4 != dim 6/.test(e.message),
  );
  assert.throws(() => attention.applyCached(p, x, null), ConfigError);
  x.dispose();
  treeDispose(p);
});
