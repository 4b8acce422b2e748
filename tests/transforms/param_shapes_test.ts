import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { lecunNormal, ones, truncNormal, xavierUniform, zeros } from "../../transforms/initializers.ts";
import { paramShapes } from "../../transforms/param_shapes.ts";
import { evalAbstract } from "../../transforms/abstract.ts";
import { type Key, keysFor, PRNGKey } from "../../transforms/random.ts";
import { countParams, treeDispose, treeShapes } from "../../transforms/tree.ts";

await setBackend("wasm");

type Cfg = { dim: number; hidden: number; depth: number; vocab: number };

/** A stand-in model init that uses every initializer and a scaled op, like real layers do. */
function init(key: Key, c: Cfg) {
  const k = keysFor(key, ["embed", "blocks"]);
  return {
    embed: { table: truncNormal(k.embed, [c.vocab, c.dim], 0.02) },
    blocks: Array.from({ length: c.depth }, (_, i) => {
      const b = keysFor(keysFor(k.blocks, [`b${i}`])[`b${i}`], ["fc1", "fc2"]);
      return {
        ln: { scale: ones([c.dim]), bias: zeros([c.dim]) },
        fc1: { w: xavierUniform(b.fc1, [c.dim, c.hidden]), b: zeros([c.hidden]) },
        fc2: { w: tf.mul(lecunNormal(b.fc2, [c.hidden, c.dim]), 0.5), b: null },
      };
    }),
  };
}

Deno.test("paramShapes() agrees with the shapes and dtypes of init() output", () => {
  fc.assert(
    fc.property(
      fc.record({
        dim: fc.integer({ min: 1, max: 8 }),
        hidden: fc.integer({ min: 1, max: 8 }),
        depth: fc.integer({ min: 0, max: 3 }),
        vocab: fc.integer({ min: 1, max: 9 }),
      }),
      (c) => {
        const params = init(PRNGKey(0), c);
        assert.deepEqual(paramShapes(init, c), treeShapes(params));
        treeDispose(params);
      },
    ),
    { numRuns: 100, seed: 3 },
  );
});

Deno.test("paramShapes() describes 10 billion parameters without allocating them", () => {
  const before = tf.memory();
  const shapes = paramShapes(init, { dim: 50_000, hidden: 50_000, depth: 2, vocab: 10 });
  assert.ok(countParams(shapes) > 1e10, `counted ${countParams(shapes)}`);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  assert.equal(tf.getBackend(), "wasm", "the previous backend is restored");
});

Deno.test("evalAbstract() restores the backend when f throws, and names a kernel it cannot evaluate", () => {
  assert.throws(() => evalAbstract(() => tf.matMul(zeros([2, 3]), zeros([3, 4])).shape), /BatchMatMul/);
  assert.equal(tf.getBackend(), "wasm");
  assert.throws(() => evalAbstract(() => zeros([2]).dataSync()), /abstract tensor/);
});
