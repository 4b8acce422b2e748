/**
 * The shared layer contract, for every layer in _catalogue.ts: init is a pure function of the key,
 * apply leaks nothing and never mutates its params, and a wrong input shape is a ShapeError that
 * names the layer and the input.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, type Key, normal, PRNGKey } from "../../../transforms/random.ts";
import { valueAndGrad } from "../../../transforms/grad.ts";
import { paramShapes } from "../../../transforms/param_shapes.ts";
import {
  type Tree,
  treeDispose,
  treeFlatten,
  treeLeaves,
  treeMap,
  treeShapes,
} from "../../../transforms/tree.ts";
import { ShapeError } from "../../../model/errors.ts";
import { SUBJECTS } from "./_catalogue.ts";

await setBackend("wasm");

/** Every leaf's path and values, copied to the host. */
function snapshot(params: unknown): Map<string, Float32Array | Int32Array | Uint8Array> {
  const { leaves, paths } = treeFlatten(params as tf.Tensor);
  return new Map(paths.map((p, i) => [p, (leaves[i] as tf.Tensor).dataSync().slice() as Float32Array]));
}

const seeds = fc.tuple(fc.nat({ max: 2 ** 31 }), fc.nat({ max: 2 ** 31 })).filter(([a, b]) => a !== b);

for (const s of SUBJECTS) {
  Deno.test(`${s.name}: the same key gives the same params`, () => {
    fc.assert(
      fc.property(fc.nat({ max: 2 ** 31 }), (seed) => {
        const a = s.init(PRNGKey(seed)), b = s.init(PRNGKey(seed));
        assert.deepEqual(snapshot(a), snapshot(b));
        treeDispose(a);
        treeDispose(b);
      }),
      { numRuns: 100, seed: 1 },
    );
  });

  if (s.random) {
    Deno.test(`${s.name}: different keys give different weights (every random leaf differs)`, () => {
      fc.assert(
        fc.property(seeds, ([s1, s2]) => {
          const a = s.init(PRNGKey(s1)), b = s.init(PRNGKey(s2));
          const sa = snapshot(a), sb = snapshot(b);
          for (const [path, va] of sa) {
            const constant = va.every((v) => v === va[0]); // ones/zeros leaves (LayerNorm, zero biases)
            if (!constant) assert.notDeepEqual(va, sb.get(path), `${path} did not depend on the key`);
          }
          assert.ok([...sa.values()].some((v) => !v.every((x) => x === v[0])), "the layer has random params");
          treeDispose(a);
          treeDispose(b);
        }),
        { numRuns: 100, seed: 2 },
      );
    });
  }

  Deno.test(`${s.name}: tf.tidy(apply) leaks nothing, apply leaves exactly its output, params are untouched`, () => {
    const key = PRNGKey(11);
    const params = s.init(key);
    const inputs = s.inputs(key);
    const before = snapshot(params);
    const count = tf.memory().numTensors;
    tf.tidy(() => {
      s.apply(params, inputs);
    });
    assert.equal(tf.memory().numTensors, count, "tidy(apply) left tensors behind");
    const y = s.apply(params, inputs);
    assert.equal(tf.memory().numTensors, count + 1, "apply outside tidy kept intermediates alive");
    assert.ok(Array.from(y.dataSync()).every(Number.isFinite), "output is finite");
    y.dispose();
    const { leaves } = treeFlatten(params as tf.Tensor);
    assert.ok(leaves.every((l) => !(l as tf.Tensor).isDisposed), "apply disposed a param");
    assert.deepEqual(snapshot(params), before, "apply changed a param's values");
    tf.dispose(inputs);
    treeDispose(params);
  });

  Deno.test(`${s.name}: paramShapes describes exactly what init makes, without allocating it`, () => {
    const count = tf.memory().numTensors;
    const shapes = paramShapes((k: Key, _c: null) => s.init(k), null);
    assert.equal(tf.memory().numTensors, count);
    const params = s.init(PRNGKey(0));
    assert.deepEqual(shapes, treeShapes(params));
    treeDispose(params);
  });

  Deno.test(`${s.name}: valueAndGrad's gradient matches a central difference along a random direction`, () => {
    const key = PRNGKey(5);
    const params = s.init(key);
    const inputs = s.inputs(foldIn(key, 1));
    const probe = tf.tidy(() => normal(foldIn(key, 2), s.apply(params, inputs).shape)); // loss = sum(y * probe)
    const loss = (p: Tree) => tf.tidy(() => tf.sum(tf.mul(s.apply(p, inputs), probe)) as tf.Scalar);
    const { leaves } = treeFlatten(params as tf.Tensor);
    const dirs = leaves.map((l, i) => normal(foldIn(key, 100 + i), (l as tf.Tensor).shape));
    const { value, grads } = valueAndGrad(loss)(params);
    const g = treeLeaves(grads as Tree);
    assert.equal(g.length, leaves.length);
    const along = g.reduce((a, gi, i) => a + tf.sum(tf.mul(gi, dirs[i])).dataSync()[0], 0);
    const eps = 1e-2;
    const shifted = (sign: number) => {
      let i = 0; // treeMap visits leaves in flat order, as dirs were made
      const moved = treeMap(params, (l) => tf.add(l as tf.Tensor, tf.mul(dirs[i++], sign * eps)));
      const v = loss(moved).dataSync()[0];
      treeDispose(moved as Tree);
      return v;
    };
    const numeric = (shifted(1) - shifted(-1)) / (2 * eps);
    assert.ok(
      Math.abs(numeric - along) <= 1e-2 * (Math.abs(numeric) + 1),
      `directional derivative ${along}, central difference ${numeric}`,
    );
    tf.dispose([value, probe, ...g, ...dirs, ...inputs]);
    treeDispose(params);
  });

  s.bad.forEach((bad, i) => {
    Deno.test(`${s.name}: a wrong ${bad.input} shape is a ShapeError naming ${bad.op} and ${bad.input} (case ${i + 1})`, () => {
      const params = s.init(PRNGKey(0));
      const inputs = bad.inputs();
      const count = tf.memory().numTensors;
      assert.throws(
        () => s.apply(params, inputs),
        (e: unknown) =>
          e instanceof ShapeError && e.op === bad.op && e.input === bad.input &&
          e.message.startsWith(`Cannot apply ${bad.op} to ${bad.input}: expected shape [`) &&
          e.message.includes(`got [${inputs.find((t) => `${t.shape}` === `${e.got}`)?.shape.join(", ")}]`),
      );
      assert.equal(tf.memory().numTensors, count, "a rejected input leaked tensors");
      tf.dispose(inputs);
      treeDispose(params);
    });
  });
}
