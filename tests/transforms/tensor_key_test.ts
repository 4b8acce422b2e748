import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import {
  bernoulli,
  foldIn,
  foldInMany,
  type HostKey,
  type Key,
  keysFor,
  keyWords,
  normal,
  PRNGKey,
  split,
  tensorKey,
  truncatedNormal,
  uniform,
} from "../../transforms/random.ts";
import { opCounts, trace } from "../../transforms/trace.ts";
import type { ShapeDtype } from "../../transforms/tree.ts";

await setBackend("wasm");

const KEY: ShapeDtype = { shape: [2], dtype: "int32" };
const asTensorKey = (k: HostKey) => tensorKey(tf.tensor1d(keyWords(k), "int32"));
const wordsOf = (k: Key): number[] =>
  Array.from(new Uint32Array((("words" in k) ? k.words.dataSync() : Int32Array.from(k)).buffer));
const keyArb = fc.tuple(fc.nat(), fc.nat()).map(([hi, lo]) => PRNGKey(hi * 1024 + lo));

Deno.test("a tensor key derives by split, foldIn and keysFor exactly the words of the host key (property)", () => {
  fc.assert(
    fc.property(
      keyArb,
      fc.integer({ min: 0, max: 2 ** 40 }),
      fc.integer({ min: 1, max: 5 }),
      (key, data, n) => {
        tf.tidy(() => {
          const t = asTensorKey(key);
          assert.deepEqual(wordsOf(foldIn(t, data)), wordsOf(foldIn(key, data)));
          assert.deepEqual(split(t, n).map(wordsOf), split(key, n).map(wordsOf));
          const byName = keysFor(t, ["attn", "mlp"]), want = keysFor(key, ["attn", "mlp"]);
          assert.deepEqual(wordsOf(byName.mlp), wordsOf(want.mlp));
        });
      },
    ),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("uniform and bernoulli from a tensor key equal the host samplers bit for bit; normals to 1e-6 (property)", () => {
  fc.assert(
    fc.property(
      keyArb,
      fc.integer({ min: 1, max: 300 }),
      fc.double({ min: 0, max: 1, noNaN: true }),
      (key, n, p) => {
        tf.tidy(() => {
          const t = asTensorKey(key);
          assert.deepEqual(
            uniform(t, [n], { min: -2, max: 3 }).dataSync(),
            uniform(key, [n], { min: -2, max: 3 }).dataSync(),
          );
          assert.deepEqual(bernoulli(t, p, [n]).dataSync(), bernoulli(key, p, [n]).dataSync());
          for (
            const [a, b] of [[normal(t, [n], { mean: 1, std: 2 }), normal(key, [n], { mean: 1, std: 2 })], [
              truncatedNormal(t, [n]),
              truncatedNormal(key, [n]),
            ]]
          ) {
            const diff = tf.max(tf.abs(tf.sub(a, b))).dataSync()[0];
            assert.ok(diff < 1e-6 * 8, `normal differs by ${diff}`);
          }
        });
      },
    ),
    { numRuns: 60, seed: 6 },
  );
});

Deno.test("tracing with a key input records Threefry ops, not the drawn numbers as constants", () => {
  const g = trace((k: tf.Tensor) => {
    const key = tensorKey(k);
    const [a, b] = split(foldIn(key, 3));
    return { u: uniform(a, [64, 64]), drop: bernoulli(b, 0.9, [64, 64]) };
  }, KEY);
  const ops = opCounts(g);
  assert.equal(ops.ThreefryHash, 2, "foldIn and split are one hash each");
  assert.equal(ops.ThreefryBits, 2);
  assert.equal(ops.BitsToUnitFloat, 2);
  const biggestConst = Math.max(
    ...g.nodes.filter((n) => n.kind === "const").map((n) => n.out.shape.reduce((x, y) => x * y, 1)),
  );
  assert.ok(
    biggestConst <= 4,
    `a constant of ${biggestConst} values: drawn numbers were frozen into the graph`,
  );
});

Deno.test("host samplers refuse a tensor key with a KeyError, and a tensor key must be int32 [2]", () => {
  assert.throws(() => tensorKey(tf.tensor1d([1, 2, 3], "int32")), /need int32 \[2\]/);
  assert.throws(() => tensorKey(tf.tensor1d([1, 2], "float32")), /need int32 \[2\]/);
});

Deno.test("foldInMany(key, data) is [foldIn(key, d) for d of data], host and tensor key; a tensor key takes one hash", () => {
  fc.assert(
    fc.property(
      keyArb,
      fc.array(fc.integer({ min: 0, max: 2 ** 40 }), { minLength: 1, maxLength: 9 }),
      (key, data) => {
        tf.tidy(() => {
          const want = data.map((d) => wordsOf(foldIn(key, d)));
          assert.deepEqual(foldInMany(key, data).map(wordsOf), want);
          assert.deepEqual(foldInMany(asTensorKey(key), data).map(wordsOf), want);
        });
      },
    ),
    { numRuns: 100, seed: 8 },
  );
  const g = trace(
    (k: tf.Tensor) => ({ keys: tf.stack(foldInMany(tensorKey(k), [1, 2, 3, 4]).map((x) => x.words)) }),
    KEY,
  );
  assert.equal(opCounts(g).ThreefryHash, 1);
});
