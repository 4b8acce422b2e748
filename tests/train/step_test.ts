import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { adamw, type OptState, sgd } from "../../transforms/optim/mod.ts";
import { globalNorm } from "../../transforms/optim/clip.ts";
import { foldIn, type Key, PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeDispose, treeLeaves, treeMapMany } from "../../transforms/tree.ts";
import { forFinetuning, type MirasolConfig, tiny } from "../../model/config.ts";
import { exampleBatch } from "../../model/inputs.ts";
import { init, loss, type MirasolParams } from "../../model/mirasol.ts";
import { stepKey, trainStep } from "../../train/step.ts";

await setBackend("wasm");

const asTree = (p: unknown) => p as Tree<tf.Tensor>;
const values = (t: unknown) => treeLeaves(asTree(t)).map((l) => Array.from(l.dataSync()));

/** Bit-for-bit equality of leaf values; on failure names the first differing leaf and index. */
function assertSameValues(a: number[][], b: number[][], what: string): void {
  assert.equal(a.length, b.length, `${what}: leaf counts differ`);
  a.forEach((u, i) => {
    const j = u.findIndex((e, k) => !Object.is(e, b[i][k]));
    assert.ok(u.length === b[i].length && j < 0, `${what}: leaf ${i}[${j}] is ${u[j]} vs ${b[i][j]}`);
  });
}

// A step that leaks leaks every time it runs: equal counts after each of 5 steps (masking and
// dropout keys differ per step) prove what 200 steps would, in a fortieth of the time.
Deno.test("trainStep leaks no tensor: the live count and bytes after every step equal those after step 1", () => {
  const config = { ...tiny, dropout: 0.1 }; // B = 1, L = 4; dropout on, so its masks are drawn too
  const batch = exampleBatch(PRNGKey(1), config, { batch: 1, textLength: 4 });
  const optimizer = adamw({ learningRate: 1e-3 });
  let params = init(PRNGKey(0), config);
  let optState = optimizer.init(asTree(params));
  const run = PRNGKey(2);
  let afterFirst = 0, bytesAfterFirst = 0;
  for (let i = 0; i < 5; i++) {
    const r = trainStep(params, optState, batch, stepKey(run, i), {
      config,
      optimizer,
      schedule: 1e-3,
      step: i,
    });
    treeDispose(asTree(params));
    treeDispose(optState);
    ({ params, optState } = r);
    if (i === 0) ({ numTensors: afterFirst, numBytes: bytesAfterFirst } = tf.memory());
    assert.equal(tf.memory().numTensors, afterFirst, `tensors leaked by step ${i + 1}`);
    assert.equal(tf.memory().numBytes, bytesAfterFirst, `bytes leaked by step ${i + 1}`);
  }
  treeDispose(asTree(params));
  treeDispose(optState);
  for (const t of Object.values(batch)) t.dispose();
});

Deno.test("trainStep is one SGD step on the gradient of the config-weighted total (finetuning: text x10) with its key", () => {
  const config: MirasolConfig = forFinetuning(tiny);
  assert.equal(config.losses.text, 10);
  const batch = exampleBatch(PRNGKey(3), config, { batch: 2, textLength: 6 });
  const params = init(PRNGKey(4), config);
  const key = PRNGKey(5);
  const lr = 0.05;
  const optimizer = sgd({ learningRate: lr });
  const optState = optimizer.init(asTree(params));
  const before = values(params);
  const r = trainStep(params, optState, batch, key, { config, optimizer, schedule: lr, step: 0 });

  // Reference: the same loss with the same key, by hand.
  const ref = valueAndGrad((p: MirasolParams, k: Key) =>
    loss(p, batch, { config, train: true, key: k }).total
  );
  const { value, grads } = ref(params, key);
  const expected = treeMapMany(
    [asTree(params), asTree(grads)],
    ([p, g]) => tf.tidy(() => tf.sub(p as tf.Tensor, tf.mul(g as tf.Tensor, lr))),
  );
  const terms = tf.tidy(() => {
    const l = loss(params, batch, { config, train: true, key });
    return [l.latent, l.reconstruction, l.text].map((t) => t.dataSync()[0]);
  });
  const norm = globalNorm(asTree(grads));

  assertSameValues(values(params), before, "trainStep changed its input params");
  assert.equal(r.metrics.total, value.dataSync()[0]);
  assert.deepEqual([r.metrics.latent, r.metrics.reconstruction, r.metrics.text], terms);
  const weighted = terms[0] + terms[1] + 10 * terms[2];
  assert.ok(
    Math.abs(r.metrics.total - weighted) < 1e-5 * weighted,
    `total ${r.metrics.total} vs ${weighted}`,
  );
  assert.equal(r.metrics.gradNorm, norm.dataSync()[0]);
  assert.equal(r.metrics.lr, Math.fround(lr));
  const got = values(r.params), want = values(expected);
  for (let i = 0; i < got.length; i++) {
    const maxDiff = Math.max(...got[i].map((v, j) => Math.abs(v - want[i][j])));
    assert.ok(maxDiff <= 1e-6, `leaf ${i} differs from p - lr * grad by ${maxDiff}`);
  }
  assert.notDeepEqual(got, before, "the step did not move the params");
  for (const t of [value, norm]) t.dispose();
  for (const t of [grads, expected, r.params, r.optState, params, optState]) {
    treeDispose(asTree(t as OptState));
  }
  for (const t of Object.values(batch)) t.dispose();
});

Deno.test("trainStep with the same inputs and key gives bit-identical params and metrics", () => {
  const config = tiny;
  const batch = exampleBatch(PRNGKey(6), config, { batch: 1, textLength: 4 });
  const params = init(PRNGKey(7), config);
  const optimizer = adamw({ learningRate: 1e-2 });
  const optState = optimizer.init(asTree(params));
  const a = trainStep(params, optState, batch, PRNGKey(8), { config, optimizer });
  const b = trainStep(params, optState, batch, PRNGKey(8), { config, optimizer });
  const c = trainStep(params, optState, batch, PRNGKey(9), { config, optimizer });
  assert.deepEqual(a.metrics, b.metrics);
  assertSameValues(values(a.params), values(b.params), "params");
  assertSameValues(values(a.optState), values(b.optState), "optState");
  // Another key draws another Combiner-output mask: the loss changes.
  assert.notEqual(a.metrics.total, c.metrics.total);
  assert.ok(Number.isNaN(a.metrics.lr), "no schedule given: lr is reported as NaN");
  for (const t of [a, b, c]) {
    treeDispose(asTree(t.params));
    treeDispose(t.optState);
  }
  treeDispose(asTree(params));
  treeDispose(optState);
  for (const t of Object.values(batch)) t.dispose();
});

Deno.test("stepKey(run, s, r) = foldIn(foldIn(run, s), r): distinct for every step and replica, replica 0 by default", () => {
  const run = PRNGKey(12);
  assert.deepEqual([...stepKey(run, 7)], [...foldIn(foldIn(run, 7), 0)]);
  assert.deepEqual([...stepKey(run, 7, 3)], [...foldIn(foldIn(run, 7), 3)]);
  const seen = new Set<string>();
  for (let s = 0; s < 20; s++) for (let r = 0; r < 4; r++) seen.add(stepKey(run, s, r).join(","));
  assert.equal(seen.size, 80);
});
