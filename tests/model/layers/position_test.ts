import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import { ConfigError } from "../../../model/errors.ts";
import * as position from "../../../model/layers/position.ts";

await setBackend("wasm");

Deno.test("sinusoidal(len, D)[p] = [sin(p w_i) | cos(p w_i)], w_i = 10000^(-2i/D)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 16 }), (len, half) => {
      const D = 2 * half;
      const e = position.sinusoidal(len, D);
      const v = e.dataSync();
      for (let p = 0; p < len; p++) {
        for (let i = 0; i < half; i++) {
          const angle = p / 10000 ** ((2 * i) / D);
          assert.ok(Math.abs(v[p * D + i] - Math.sin(angle)) <= 1e-6);
          assert.ok(Math.abs(v[p * D + half + i] - Math.cos(angle)) <= 1e-6);
        }
      }
      e.dispose();
    }),
    { numRuns: 100, seed: 31 },
  );
});

Deno.test("sincos3d: small cases by hand (D = 6: one frequency, w = 1, per axis)", () => {
  const v = Array.from(position.sincos3d([[0, 0, 0], [1, 2, 3]], 6).dataSync());
  const want = [
    0,
    1,
    0,
    1,
    0,
    1,
    Math.sin(1),
    Math.cos(1),
    Math.sin(2),
    Math.cos(2),
    Math.sin(3),
    Math.cos(3),
  ];
  want.forEach((w, i) => assert.ok(Math.abs(v[i] - w) <= 1e-6, `entry ${i}: ${v[i]} vs ${w}`));
});

Deno.test("sincos3d splits D into t | h | w thirds, each the 1D sinusoid of width D/3 at that coordinate", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.tuple(
          fc.integer({ min: 0, max: 31 }),
          fc.integer({ min: 0, max: 31 }),
          fc.integer({ min: 0, max: 31 }),
        ),
        { minLength: 1, maxLength: 6 },
      ),
      fc.integer({ min: 1, max: 6 }),
      (centres, k) => {
        const D = 6 * k, third = 2 * k;
        const v = position.sincos3d(centres, D).dataSync();
        const table = position.sinusoidal(32, third).dataSync();
        centres.forEach((c, r) => {
          c.forEach((coord, axis) => {
            for (let i = 0; i < third; i++) {
              assert.ok(
                Math.abs(v[r * D + axis * third + i] - table[coord * third + i]) <= 1e-6,
                `centre ${r} axis ${axis} column ${i}`,
              );
            }
          });
        });
      },
    ),
    { numRuns: 100, seed: 32 },
  );
});

Deno.test("position embeddings reject widths they cannot split (ConfigError names the rule)", () => {
  assert.throws(
    () => position.sincos3d([[0, 0, 0]], 8),
    (e: unknown) => e instanceof ConfigError && /multiple of 6, got 8/.test(e.message),
  );
  assert.throws(
    () => position.sincos3d([[0, 0]], 6),
    (e: unknown) => e instanceof ConfigError && /centre 0/.test(e.message),
  );
  assert.throws(
    () => position.sinusoidal(4, 5),
    (e: unknown) => e instanceof ConfigError && /even/.test(e.message),
  );
});

Deno.test("applyLearned adds the first T rows of the table; longer inputs are refused", () => {
  const p = position.initLearned(PRNGKey(1), { len: 6, dim: 3 });
  const x = normal(PRNGKey(2), [2, 4, 3]);
  const y = position.applyLearned(p, x);
  const X = x.dataSync(), Y = y.dataSync(), T = p.table.dataSync() as Float32Array;
  for (let i = 0; i < 2 * 4 * 3; i++) assert.ok(Math.abs(Y[i] - (X[i] + T[i % 12])) <= 1e-6);
  const std = Math.sqrt(T.reduce((a: number, v: number) => a + v * v, 0) / T.length);
  assert.ok(std < 0.05, `learned table std ${std} (normal 0.02)`);
  const long = tf.zeros([1, 7, 3]);
  assert.throws(
    () => position.applyLearned(p, long),
    (e: unknown) => e instanceof ConfigError && /7 positions, the table only 6/.test(e.message),
  );
  treeDispose([p, x, y, long]);
});
