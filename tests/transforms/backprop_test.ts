import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { gradientsFreeingAsGoing } from "../../transforms/backprop.ts";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { foldIn, normalValues, PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeDispose, treeLeaves } from "../../transforms/tree.ts";
import { combinerOfKind, tiny, withCombiner } from "../../model/config.ts";
import { exampleBatch } from "../../model/inputs.ts";
import { init, loss } from "../../model/mirasol.ts";

const normal = (seed: number, shape: number[]) =>
  tf.tensor(normalValues(PRNGKey(seed), shape.reduce((a, b) => a * b, 1)), shape);

/** A recurrence that uses the same two weights at each of T steps, as the TTM and the latent model do. */
function recurrence(w: tf.Tensor, v: tf.Tensor, x0: tf.Tensor, T: number): () => tf.Scalar {
  return () => {
    let x = x0;
    for (let t = 0; t < T; t++) x = tf.add(x, tf.tanh(tf.matMul(tf.relu(tf.matMul(x, w)), v)));
    return tf.mean(tf.square(x)) as tf.Scalar;
  };
}

async function readAll(ts: (tf.Tensor | undefined)[]): Promise<(Float32Array | null)[]> {
  return await Promise.all(ts.map(async (t) => (t ? (await t.data()) as Float32Array : null)));
}

for (const backend of ["cpu", "wasm"] as const) {
  Deno.test(`gradients equal tfjs' engine.gradients bitwise, unused inputs undefined, no leak (${backend})`, async () => {
    await setBackend(backend);
    const w = normal(1, [64, 256]),
      v = normal(2, [256, 64]),
      x0 = normal(3, [8, 64]),
      unused = normal(4, [3]);
    const xs = [w, v, x0, unused];
    // the scaling runs inside f, so the pass also goes through it
    const g = () => recurrence(tf.mul(w, 0.05), tf.mul(v, 0.05), x0, 6)();
    const before = tf.memory().numTensors;
    const ours = gradientsFreeingAsGoing(g, xs);
    assert.equal(tf.memory().numTensors, before + 1 + 3, "value and the three used gradients, nothing else");
    assert.equal(ours.grads[3], undefined);
    const theirs = tf.engine().gradients(g, xs, undefined, true);
    assert.deepEqual(await ours.value.data(), await theirs.value.data());
    const [a, b] = [await readAll(ours.grads), await readAll(theirs.grads)];
    for (let i = 0; i < 3; i++) assert.deepEqual(a[i], b[i], `gradient ${i} differs`);
    tf.dispose([ours.value, theirs.value, ...ours.grads, ...theirs.grads].filter((t) => t) as tf.Tensor[]);
    tf.dispose(xs);
  });

  Deno.test(`a weight used at T = 16 steps: backward peak well under tfjs' own (${backend})`, async () => {
    await setBackend(backend);
    const w = normal(5, [128, 512]), v = normal(6, [512, 128]), x0 = normal(7, [4, 128]);
    const f = () => recurrence(w, v, x0, 16)();
    const peak = async (run: () => { value: tf.Tensor; grads: (tf.Tensor | undefined)[] }) => {
      let out: { value: tf.Tensor; grads: (tf.Tensor | undefined)[] } | undefined;
      const info = await tf.profile(() => {
        out = run();
        return [out.value, ...(out.grads as tf.Tensor[])];
      });
      tf.dispose([out!.value, ...(out!.grads as tf.Tensor[])]);
      return info.peakBytes;
    };
    const ours = await peak(() => gradientsFreeingAsGoing(f, [w, v, x0]));
    const theirs = await peak(() => tf.engine().gradients(f, [w, v, x0], undefined, true));
    // tfjs keeps 16 per-use gradients of each 256 KiB weight (and every activation gradient) to the end
    const weightBytes = 128 * 512 * 4;
    assert.ok(theirs - ours > 16 * weightBytes, `peak ${ours} vs tfjs ${theirs} bytes`);
    assert.ok(ours < 0.6 * theirs, `peak ${ours} vs tfjs ${theirs} bytes`);
    tf.dispose([w, v, x0]);
  });

  Deno.test(`the model's loss gradients equal tfjs' engine.gradients bitwise (TTM Combiner, ${backend})`, async () => {
    await setBackend(backend);
    const c = withCombiner(tiny, combinerOfKind("ttm", { layers: 1, outTokens: 4 }));
    const params = init(PRNGKey(0), c);
    const batch = exampleBatch(foldIn(PRNGKey(1), 0), c, { batch: 2, textLength: 6 });
    const lossOf = (p: typeof params) =>
      loss(p, batch, { config: c, train: true, key: PRNGKey(9) }).total as tf.Scalar;
    const leaves = treeLeaves(params as unknown as Tree<tf.Tensor>);
    const ours = valueAndGrad(lossOf)(params);
    const theirs = tf.engine().gradients(() => lossOf(params), leaves, undefined, true);
    assert.deepEqual(await ours.value.data(), await theirs.value.data());
    const oursLeaves = treeLeaves(ours.grads as unknown as Tree<tf.Tensor>);
    for (let i = 0; i < leaves.length; i++) {
      const want = theirs.grads[i] ? await theirs.grads[i].data() : new Float32Array(leaves[i].size);
      assert.deepEqual(await oursLeaves[i].data(), want, `gradient of leaf ${i}`);
    }
    tf.dispose([ours.value, theirs.value, ...oursLeaves, ...(theirs.grads.filter((g) => g) as tf.Tensor[])]);
    treeDispose(params as unknown as Tree<tf.Tensor>);
    tf.dispose(Object.values(batch) as tf.Tensor[]);
  });
}
