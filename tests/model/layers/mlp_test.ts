import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose } from "../../../transforms/tree.ts";
import * as dense from "../../../model/layers/dense.ts";
import * as mlp from "../../../model/layers/mlp.ts";

await setBackend("wasm");

const xs = [-3, -1, 0.5, 1, 2];

Deno.test("mlp.gelu is the exact GELU x * Phi(x) (values from Python's math.erf, 1e-6)", () => {
  const want = [
    -0.00404969409489031,
    -0.15865525393145707,
    0.34573123063700656,
    0.8413447460685429,
    1.9544997361036416,
  ];
  const got = mlp.gelu(tf.tensor1d(xs)).dataSync();
  want.forEach((w, i) => assert.ok(Math.abs(got[i] - w) <= 1e-6, `gelu(${xs[i]}) = ${got[i]}, want ${w}`));
});

Deno.test("mlp.geluTanh is the tanh approximation (Flax nn.gelu), measurably different from the exact GELU", () => {
  const want = [
    -0.0036373920817729943,
    -0.15880800939172324,
    0.34571400982514394,
    0.8411919906082768,
    1.954597694087775,
  ];
  const got = mlp.geluTanh(tf.tensor1d(xs)).dataSync();
  want.forEach((w, i) =>
    assert.ok(Math.abs(got[i] - w) <= 1e-6, `geluTanh(${xs[i]}) = ${got[i]}, want ${w}`)
  );
});

Deno.test("mlp.apply is fc2(gelu(fc1(x))), with outDim defaulting to dim", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 9 }),
      fc.option(fc.integer({ min: 1, max: 5 })),
      fc.nat(),
      (D, hidden, outDim, seed) => {
        const p = mlp.init(PRNGKey(seed), { dim: D, hidden, outDim: outDim ?? undefined });
        const diff = tf.tidy(() => {
          const x = normal(PRNGKey(seed + 1), [2, 3, D], { std: 2 });
          const y = mlp.apply(p, x);
          assert.deepEqual(y.shape, [2, 3, outDim ?? D]);
          const want = dense.apply(p.fc2, mlp.gelu(dense.apply(p.fc1, x)));
          return tf.max(tf.abs(tf.sub(y, want))).dataSync()[0];
        });
        assert.equal(diff, 0);
        treeDispose(p);
      },
    ),
    { numRuns: 100, seed: 14 },
  );
});

Deno.test("mlp dropout: inactive unless train, reproducible by key when training", () => {
  const p = mlp.init(PRNGKey(0), { dim: 4, hidden: 32 });
  const x = normal(PRNGKey(1), [8, 4]);
  const run = (opts: mlp.MlpOptions) => Array.from(mlp.apply(p, x, opts).dataSync());
  assert.deepEqual(run({ dropout: 0.5 }), run({}));
  assert.deepEqual(
    run({ dropout: 0.5, train: true, key: PRNGKey(3) }),
    run({ dropout: 0.5, train: true, key: PRNGKey(3) }),
  );
  assert.notDeepEqual(run({ dropout: 0.5, train: true, key: PRNGKey(3) }), run({}));
  treeDispose(p);
  x.dispose();
});
