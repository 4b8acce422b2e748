import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { treeDispose, treeMap } from "../../transforms/tree.ts";

await setBackend("wasm");

type P = { w: tf.Tensor; b: tf.Tensor; unused: { v: tf.Tensor } };
const params = (): P => ({
  w: tf.tensor2d([[1, 2], [3, 4]]),
  b: tf.tensor1d([0.5, -1]),
  unused: { v: tf.ones([3]) },
});

/** loss = sum((x W + b)^2): dL/dW = 2 x^T (xW + b), dL/db = 2 sum_rows(xW + b). */
const loss = (p: P, x: tf.Tensor) => tf.sum(tf.square(tf.add(tf.matMul(x, p.w), p.b))) as tf.Scalar;

Deno.test("valueAndGrad() returns the loss and a gradient tree shaped like params, zero where unused", () => {
  const p = params();
  const x = tf.tensor2d([[1, 0], [2, 1]]);
  const { value, grads } = valueAndGrad(loss)(p, x);
  // y = xW + b = [[1.5, 1], [5.5, 7]]
  assert.equal(value.dataSync()[0], 1.5 ** 2 + 1 + 5.5 ** 2 + 49);
  assert.deepEqual(Array.from(grads.w.dataSync()), [2 * (1.5 + 2 * 5.5), 2 * (1 + 2 * 7), 2 * 5.5, 2 * 7]);
  assert.deepEqual(Array.from(grads.b.dataSync()), [2 * (1.5 + 5.5), 2 * (1 + 7)]);
  assert.deepEqual(Array.from(grads.unused.v.dataSync()), [0, 0, 0]);
  treeDispose([p, grads, value, x]);
});

Deno.test("valueAndGrad() with hasAux keeps the aux outputs alive for the caller", () => {
  const p = params();
  const x = tf.ones([1, 2]);
  const f = valueAndGrad((q: P, xs: tf.Tensor) => {
    const y = tf.add(tf.matMul(xs, q.w), q.b);
    return { loss: tf.sum(y) as tf.Scalar, aux: { y } };
  }, { hasAux: true });
  const { value, aux, grads } = f(p, x);
  assert.deepEqual(Array.from(aux.y.dataSync()), [4.5, 5]);
  assert.equal(value.dataSync()[0], 9.5);
  treeDispose([p, grads, value, x, aux.y]);
});

Deno.test("valueAndGrad() leaks no tensor over 100 calls", () => {
  const p = params();
  const x = tf.tensor2d([[1, 0], [2, 1]]);
  const f = valueAndGrad(loss);
  const step = () => {
    const { value, grads } = f(p, x);
    treeDispose([value, grads]);
  };
  step();
  const before = tf.memory().numTensors;
  for (let i = 0; i < 100; i++) step();
  assert.equal(tf.memory().numTensors, before);
  treeDispose([p, x]);
});

Deno.test("valueAndGrad() names the leaf it cannot differentiate and rejects non-scalar losses", () => {
  const p = { w: tf.ones([2]), steps: tf.scalar(3, "int32") };
  assert.throws(() => valueAndGrad((q: typeof p) => tf.sum(q.w) as tf.Scalar)(p), /'steps'/);
  assert.throws(
    () => valueAndGrad((q: { w: tf.Tensor }) => q.w as tf.Scalar)({ w: p.w }),
    /scalar loss, got shape \[2\]/,
  );
  treeDispose(p);
  void treeMap;
});
