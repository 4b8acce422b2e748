import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import {
  countParams,
  type Leaf,
  type Tree,
  treeDispose,
  treeFlatten,
  treeMap,
  treeMapMany,
  treePaths,
  treeUnflatten,
} from "../../transforms/tree.ts";

await setBackend("wasm");

/** Arbitrary trees of {shape, dtype} leaves, with records, arrays and empty (null) subtrees. */
const shapeLeaf = fc.record({
  shape: fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 3 }),
  dtype: fc.constant("float32" as const),
});
const { tree: arbTree } = fc.letrec<{ tree: Tree<Leaf> }>((tie) => ({
  tree: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    shapeLeaf,
    fc.constant(null),
    fc.array(tie("tree"), { maxLength: 3 }),
    fc.dictionary(fc.stringMatching(/^[a-z_]{1,6}$/), tie("tree"), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

Deno.test("treeUnflatten(treeFlatten(t)) rebuilds t exactly", () => {
  fc.assert(
    fc.property(arbTree, (t) => {
      const { leaves, treedef } = treeFlatten(t);
      assert.deepEqual(treeUnflatten(treedef, leaves), t);
    }),
    { numRuns: 300, seed: 1 },
  );
});

Deno.test("flat order and paths do not depend on the order record fields were written in", () => {
  const a = { w: { shape: [2], dtype: "float32" as const }, b: { shape: [1], dtype: "float32" as const } };
  const b = { b: a.b, w: a.w };
  assert.deepEqual(treePaths(a), treePaths(b));
  assert.deepEqual(treePaths({ blocks: [{ attn: { q: { w: a.w } } }, a], ln: null }), [
    "blocks/0/attn/q/w",
    "blocks/1/b",
    "blocks/1/w",
  ]);
});

Deno.test("treeMap keeps structure, passes paths, and countParams sums leaf sizes", () => {
  fc.assert(
    fc.property(arbTree, (t) => {
      const mapped = treeMap(
        t,
        (leaf, path) => ({ shape: [...leaf.shape, 1], dtype: "int32" as const, path }),
      );
      const { paths } = treeFlatten(t);
      const count = treeFlatten(t).leaves.reduce((n, l) => n + l.shape.reduce((a, b) => a * b, 1), 0);
      assert.equal(countParams(t), count);
      assert.equal(treeFlatten(treeMap(t, (l) => l)).paths.length, paths.length);
      assert.ok(mapped !== undefined);
    }),
    { numRuns: 200, seed: 2 },
  );
});

Deno.test("treeMapMany zips trees of one structure and names the first path where they differ", () => {
  const p = { a: tf.ones([2]), b: { c: tf.ones([3]) } };
  const g = { a: tf.fill([2], 2), b: { c: tf.fill([3], 3) } };
  const sum = treeMapMany([p, g], ([x, y]) => tf.add(x as tf.Tensor, y as tf.Tensor));
  assert.deepEqual(Array.from((sum.b.c as tf.Tensor).dataSync()), [4, 4, 4]);
  assert.throws(() => treeMapMany([p, { a: p.a, b: { d: p.b.c } }], ([x]) => x), /b\/c vs b\/d/);
  treeDispose([p, g, sum]);
});

Deno.test("treeDispose frees every tensor and non-tensor leaves are rejected with their path", () => {
  const before = tf.memory().numTensors;
  const t = { x: [tf.ones([2]), tf.ones([3])], y: { z: tf.zeros([1]) } };
  treeDispose(t);
  assert.equal(tf.memory().numTensors, before);
  assert.throws(() => treeFlatten({ a: { b: 3 } } as unknown as Tree<Leaf>), /'a\/b'.*number 3/);
});
