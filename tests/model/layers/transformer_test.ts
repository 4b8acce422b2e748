import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose, treeMap, treePaths } from "../../../transforms/tree.ts";
import { causalMask, chunkCausalMask } from "../../../model/masks.ts";
import { ConfigError } from "../../../model/errors.ts";
import * as attention from "../../../model/layers/attention.ts";
import * as layerNorm from "../../../model/layers/layer_norm.ts";
import * as mlp from "../../../model/layers/mlp.ts";
import * as transformer from "../../../model/layers/transformer.ts";

await setBackend("wasm");

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const cfg = { dim: 8, heads: 2, headDim: 4, mlpHidden: 16 };

/** Non-trivial LayerNorm scales/biases (init gives ones/zeros), so swapped LayerNorms are noticed. */
function perturb<P>(params: P, seed: number): P {
  let i = 0;
  return treeMap(params, (leaf) => {
    const t = leaf as tf.Tensor;
    return tf.add(t, normal(foldIn(PRNGKey(seed), i++), t.shape, { std: 0.3 }));
  }) as P;
}

Deno.test("applyBlock is pre-LN: x + attn(ln1 x), + cross(ln_cross x, context), + mlp(ln2 x)", () => {
  fc.assert(
    fc.property(fc.nat(), fc.boolean(), (seed, cross) => {
      const raw = transformer.initBlock(PRNGKey(seed), { ...cfg, cross, contextDim: cross ? 6 : undefined });
      const p = perturb(raw, seed);
      treeDispose(raw);
      const diff = tf.tidy(() => {
        const x = normal(PRNGKey(seed), [2, 5, 8]), context = normal(foldIn(PRNGKey(seed), 1), [2, 3, 6]);
        const mask = causalMask(5);
        let h: tf.Tensor = tf.add(x, attention.apply(p.attn, layerNorm.apply(p.ln1, x), { mask }));
        if (cross) h = tf.add(h, attention.apply(p.cross!, layerNorm.apply(p.ln_cross!, h), { context }));
        const want = tf.add(h, mlp.apply(p.mlp, layerNorm.apply(p.ln2, h)));
        return maxDiff(want, transformer.applyBlock(p, x, { mask, context: cross ? context : undefined }));
      });
      assert.ok(diff <= 1e-5, `block differs from its definition by ${diff}`);
      treeDispose(p);
    }),
    { numRuns: 100, seed: 3 },
  );
});

Deno.test("param paths are snake_case and name each sublayer (they name SavedModel variables)", () => {
  const p = transformer.initStack(PRNGKey(0), { depth: 2, block: { ...cfg, cross: true } });
  const paths = treePaths(p);
  for (
    const path of [
      "blocks/0/attn/q/w",
      "blocks/1/cross/q/w",
      "blocks/1/cross/out/b",
      "blocks/0/ln_cross/scale",
      "blocks/1/mlp/fc2/w",
      "ln_final/bias",
    ]
  ) {
    assert.ok(paths.includes(path), `missing ${path}`);
  }
  assert.ok(paths.every((s) => /^[a-z0-9_/]+$/.test(s)), paths.join(" "));
  assert.equal(paths.length, 2 * 26 + 2);
  treeDispose(p);
});

Deno.test("adding cross-attention to a block leaves the init of its other sublayers unchanged (keys by name)", () => {
  const a = transformer.initBlock(PRNGKey(5), cfg),
    b = transformer.initBlock(PRNGKey(5), { ...cfg, cross: true });
  assert.deepEqual(a.attn.q.w.dataSync(), b.attn.q.w.dataSync());
  assert.deepEqual(a.mlp.fc2.w.dataSync(), b.mlp.fc2.w.dataSync());
  treeDispose([a, b]);
});

Deno.test("blocks of a stack get different params (foldIn by index)", () => {
  const p = transformer.initStack(PRNGKey(5), { depth: 3, block: cfg });
  assert.notDeepEqual(p.blocks[0].attn.q.w.dataSync(), p.blocks[1].attn.q.w.dataSync());
  assert.notDeepEqual(p.blocks[1].mlp.fc1.w.dataSync(), p.blocks[2].mlp.fc1.w.dataSync());
  treeDispose(p);
});

Deno.test("applyStackCached, token by token with cross-attention, equals applyStack with a causal mask (1e-5)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 6 }),
      fc.nat(),
      (depth, L, seed) => {
        const p = transformer.initStack(PRNGKey(seed), {
          depth,
          block: { ...cfg, cross: true, contextDim: 6 },
        });
        const diff = tf.tidy(() => {
          const x = normal(PRNGKey(seed), [2, L, 8]), context = normal(foldIn(PRNGKey(seed), 1), [2, 4, 6]);
          const contextMask = tf.tensor4d([1, 1, 0, 1, 1, 1, 1, 0], [2, 1, 1, 4], "bool"); // per-example padding
          const full = transformer.applyStack(p, x, { mask: causalMask(L), context, contextMask });
          const crossKV = transformer.stackCrossKV(p, context);
          let caches: attention.KVCache[] | null = null;
          const steps: tf.Tensor[] = [];
          for (let t = 0; t < L; t++) {
            const out: { y: tf.Tensor; caches: attention.KVCache[] } = transformer.applyStackCached(
              p,
              tf.slice(x, [0, t, 0], [2, 1, 8]),
              caches,
              { crossKV, contextMask },
            );
            steps.push(out.y);
            caches = out.caches;
          }
          return maxDiff(full, tf.concat(steps, 1));
        });
        assert.ok(diff <= 1e-5, `cached stack differs by ${diff}`);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 37 },
  );
});

Deno.test("applyStackCached, chunk by chunk without a mask, equals applyStack with the chunk-causal mask (streaming)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 3 }),
      fc.nat(),
      (numChunks, n, seed) => {
        const p = transformer.initStack(PRNGKey(seed), { depth: 2, block: cfg });
        const diff = tf.tidy(() => {
          const x = normal(PRNGKey(seed), [1, numChunks * n, 8]);
          const full = transformer.applyStack(p, x, { mask: chunkCausalMask(numChunks, n) });
          let caches: attention.KVCache[] | null = null;
          const steps: tf.Tensor[] = [];
          for (let t = 0; t < numChunks; t++) {
            const out: { y: tf.Tensor; caches: attention.KVCache[] } = transformer.applyStackCached(
              p,
              tf.slice(x, [0, t * n, 0], [1, n, 8]),
              caches,
            );
            steps.push(out.y);
            caches = out.caches;
          }
          return maxDiff(full, tf.concat(steps, 1));
        });
        assert.ok(diff <= 1e-5, `chunk-streamed stack differs by ${diff}`);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 41 },
  );
});

Deno.test("a cross block needs a context, and a self-only block refuses one (ConfigError, nothing silently ignored)", () => {
  const crossBlock = transformer.initBlock(PRNGKey(0), { ...cfg, cross: true });
  const selfBlock = transformer.initBlock(PRNGKey(0), cfg);
  const x = tf.zeros([1, 2, 8]);
  assert.throws(
    () => transformer.applyBlock(crossBlock, x),
    (e: unknown) => e instanceof ConfigError && /no context was given/.test(e.message),
  );
  assert.throws(
    () => transformer.applyBlock(selfBlock, x, { context: x }),
    (e: unknown) => e instanceof ConfigError && /no cross-attention/.test(e.message),
  );
  assert.throws(
    () => transformer.applyBlockCached(crossBlock, x, null),
    (e: unknown) => e instanceof ConfigError && /crossKV/.test(e.message),
  );
  assert.throws(
    () => transformer.initBlock(PRNGKey(0), { ...cfg, heads: 0 }),
    (e: unknown) => e instanceof ConfigError && /heads must be a positive integer, got 0/.test(e.message),
  );
  tf.dispose(x);
  treeDispose([crossBlock, selfBlock]);
});

Deno.test("stack dropout: train=false is deterministic and equals no dropout; train=true is reproducible by key and needs one", () => {
  const p = transformer.initStack(PRNGKey(1), { depth: 2, block: cfg });
  const x = normal(PRNGKey(2), [1, 4, 8]);
  const [evalDiff, sameKey, otherKey] = tf.tidy(() => {
    const a = transformer.applyStack(p, x, { dropout: 0.3, train: true, key: PRNGKey(9) });
    return [
      maxDiff(transformer.applyStack(p, x), transformer.applyStack(p, x, { dropout: 0.3, train: false })),
      maxDiff(a, transformer.applyStack(p, x, { dropout: 0.3, train: true, key: PRNGKey(9) })),
      maxDiff(a, transformer.applyStack(p, x, { dropout: 0.3, train: true, key: PRNGKey(10) })),
    ];
  });
  assert.equal(evalDiff, 0);
  assert.equal(sameKey, 0);
  assert.ok(otherKey > 0);
  assert.throws(() => transformer.applyStack(p, x, { dropout: 0.3, train: true }), ConfigError);
  tf.dispose(x);
  treeDispose(p);
});

Deno.test("cached decoding holds only the live caches: disposing each replaced cache keeps the tensor count flat", () => {
  const p = transformer.initStack(PRNGKey(2), { depth: 3, block: { ...cfg, cross: true } });
  const context = normal(PRNGKey(3), [1, 5, 8]);
  const crossKV = transformer.stackCrossKV(p, context);
  let caches: attention.KVCache[] | null = null;
  const counts: number[] = [];
  for (let t = 0; t < 10; t++) {
    const x = normal(foldIn(PRNGKey(4), t), [1, 1, 8]);
    const out: { y: tf.Tensor; caches: attention.KVCache[] } = transformer.applyStackCached(p, x, caches, {
      crossKV,
    });
    if (caches) tf.dispose(caches.flatMap((c) => [c.k, c.v]));
    caches = out.caches;
    assert.deepEqual(caches[2].k.shape, [1, 2, t + 1, 4]);
    tf.dispose([x, out.y]);
    counts.push(tf.memory().numTensors);
  }
  assert.ok(counts.every((c) => c === counts[0]), `tensor counts ${counts}`);
  tf.dispose([context, ...crossKV.flatMap((c) => [c.k, c.v]), ...caches!.flatMap((c) => [c.k, c.v])]);
  treeDispose(p);
});
