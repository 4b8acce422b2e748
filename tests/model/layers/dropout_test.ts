import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { PRNGKey } from "../../../transforms/random.ts";
import { ConfigError } from "../../../model/errors.ts";
import * as dropout from "../../../model/layers/dropout.ts";

await setBackend("wasm");

Deno.test("dropout with train=false (or rate 0) returns x itself: no copy, no randomness, no key needed", () => {
  const x = tf.ones([3, 4]);
  const count = tf.memory().numTensors;
  assert.equal(dropout.apply(x, { rate: 0.5, train: false }), x);
  assert.equal(dropout.apply(x, { rate: 0, train: true }), x);
  assert.equal(tf.memory().numTensors, count);
  x.dispose();
});

Deno.test("dropout with train=true keeps ~(1 - rate) of the entries, scales kept ones by 1/(1 - rate), zeroes the rest", () => {
  const n = 20_000;
  fc.assert(
    fc.property(fc.double({ min: 0.05, max: 0.95, noNaN: true }), fc.nat(), (rate, seed) => {
      const x = tf.ones([100, n / 100]);
      const y = dropout.apply(x, { rate, train: true, key: PRNGKey(seed) });
      const v = y.dataSync();
      const kept = v.filter((e) => e !== 0);
      assert.ok(
        v.every((e) => e === 0 || Math.abs(e - 1 / (1 - rate)) <= 1e-6 / (1 - rate)),
        "a kept value is not x / (1 - rate)",
      );
      const sigma = Math.sqrt(n * rate * (1 - rate));
      assert.ok(
        Math.abs(kept.length - n * (1 - rate)) < 5 * sigma,
        `kept ${kept.length} of ${n} at rate ${rate}`,
      );
      tf.dispose([x, y]);
    }),
    { numRuns: 100, seed: 99 },
  );
});

Deno.test("dropout draws its mask from the key only: same key, same mask; other key, other mask", () => {
  const x = tf.ones([64]);
  const [a, b, c] = [1, 1, 2].map((s) =>
    Array.from(dropout.apply(x, { rate: 0.5, train: true, key: PRNGKey(s) }).dataSync())
  );
  assert.deepEqual(a, b);
  assert.notDeepEqual(a, c);
  x.dispose();
});

Deno.test("dropout with train=true and no key, or a rate outside [0, 1], is a ConfigError", () => {
  const x = tf.ones([2]);
  assert.throws(
    () => dropout.apply(x, { rate: 0.1, train: true }),
    (e: unknown) => e instanceof ConfigError && /no key/.test(e.message),
  );
  assert.throws(() => dropout.apply(x, { rate: 1.5, train: false }), ConfigError);
  assert.deepEqual(Array.from(dropout.apply(x, { rate: 1, train: true, key: PRNGKey(0) }).dataSync()), [
    0,
    0,
  ]);
  x.dispose();
});
