import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import {
  causalMask,
  chunkCausalCrossMask,
  chunkCausalCrossMaskArray,
  chunkCausalMask,
  chunkCausalMaskArray,
} from "../../model/masks.ts";
import { ConfigError } from "../../model/errors.ts";

await setBackend("wasm");

/** Reads a bool [rows, cols] tensor back as nested booleans and disposes it. */
function read(m: tf.Tensor2D): boolean[][] {
  assert.equal(m.dtype, "bool");
  const [rows, cols] = m.shape;
  const data = m.dataSync();
  m.dispose();
  return Array.from(
    { length: rows },
    (_, i) => Array.from({ length: cols }, (_, j) => data[i * cols + j] === 1),
  );
}

Deno.test("chunkCausalMask(2, 2) is block lower-triangular", () => {
  const T = true, F = false;
  assert.deepEqual(read(chunkCausalMask(2, 2)), [
    [T, T, F, F],
    [T, T, F, F],
    [T, T, T, T],
    [T, T, T, T],
  ]);
});

Deno.test("chunkCausalMask: token i may attend to j iff floor(j/n) <= floor(i/n), entry by entry", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 1, max: 6 }), (numChunks, n) => {
      const m = read(chunkCausalMask(numChunks, n));
      assert.equal(m.length, numChunks * n);
      for (let i = 0; i < numChunks * n; i++) {
        assert.equal(m[i].length, numChunks * n);
        for (let j = 0; j < numChunks * n; j++) {
          assert.equal(
            m[i][j],
            Math.floor(j / n) <= Math.floor(i / n),
            `entry (${i}, ${j}) of T=${numChunks}, n=${n}`,
          );
        }
      }
      assert.deepEqual(chunkCausalMaskArray(numChunks, n), m, "the host-side array is the applied mask");
    }),
    { numRuns: 150, seed: 20261124 },
  );
});

Deno.test("chunkCausalCrossMask: queries of chunk t see exactly the keys of chunks <= t", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 5 }),
      (numChunks, q, k) => {
        const m = read(chunkCausalCrossMask(numChunks, q, k));
        assert.equal(m.length, numChunks * q);
        for (let i = 0; i < numChunks * q; i++) {
          assert.equal(m[i].length, numChunks * k);
          for (let j = 0; j < numChunks * k; j++) {
            assert.equal(
              m[i][j],
              Math.floor(j / k) <= Math.floor(i / q),
              `entry (${i}, ${j}) of T=${numChunks}, q=${q}, k=${k}`,
            );
          }
        }
        assert.deepEqual(chunkCausalCrossMaskArray(numChunks, q, k), m);
      },
    ),
    { numRuns: 150, seed: 7 },
  );
});

Deno.test("chunkCausalCrossMask with equal per-chunk counts is chunkCausalMask", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), (numChunks, n) => {
      assert.deepEqual(read(chunkCausalCrossMask(numChunks, n, n)), read(chunkCausalMask(numChunks, n)));
    }),
    { numRuns: 100, seed: 11 },
  );
});

Deno.test("causalMask(q, k): query i sits at position k - q + i and sees keys up to it", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 8 }), (q, old) => {
      const m = read(causalMask(q, q + old));
      for (let i = 0; i < q; i++) {
        for (let j = 0; j < q + old; j++) {
          assert.equal(m[i][j], j <= old + i, `entry (${i}, ${j}) of q=${q}, k=${q + old}`);
        }
      }
    }),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("mask builders reject counts that are not positive integers, naming the argument", () => {
  assert.throws(
    () => chunkCausalMask(0, 4),
    (e: unknown) => e instanceof ConfigError && /numChunks must be a positive integer, got 0/.test(e.message),
  );
  assert.throws(
    () => chunkCausalCrossMask(2, 1.5, 3),
    (e: unknown) => e instanceof ConfigError && /queriesPerChunk/.test(e.message),
  );
  assert.throws(() => causalMask(4, 3), ConfigError);
});
