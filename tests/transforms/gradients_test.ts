// transforms/gradients/mod.ts: registration, coverage of every listed kernel by a gradient check,
// a hand-derived MLP backprop, tie handling, second order, and no tensor leaks; on cpu and wasm.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import {
  DIFFERENTIABLE_KERNELS,
  GRADIENT_CONFIGS,
  registerGradients,
} from "../../transforms/gradients/mod.ts";
import { ARITHMETIC_CASES, UNARY_CASES, ZERO_GRADIENT_CASES } from "./gradients_cases_elementwise.ts";
import {
  MATMUL_CASES,
  REDUCTION_CASES,
  SELECTION_CASES,
  SHAPE_CASES,
  SLICING_CASES,
  SOFTMAX_CASES,
} from "./gradients_cases_structural.ts";
import { checkGradient, GRADIENT_BACKENDS, normal, rng } from "./gradients_numeric.ts";

await setBackend("wasm");

const ALL_CASES = [
  ...ARITHMETIC_CASES,
  ...UNARY_CASES,
  ...ZERO_GRADIENT_CASES,
  ...REDUCTION_CASES,
  ...MATMUL_CASES,
  ...SOFTMAX_CASES,
  ...SHAPE_CASES,
  ...SLICING_CASES,
  ...SELECTION_CASES,
];
/** No tfjs op runs these kernels (tf.broadcastTo runs Tile; tf.logSoftmax is a customGrad op). */
const CHECKED_DIRECTLY = ["BroadcastTo", "LogSoftmax"];

Deno.test("every kernel in DIFFERENTIABLE_KERNELS has a registered gradient after importing mod.ts", () => {
  const missing = DIFFERENTIABLE_KERNELS.filter((k) => tf.getGradient(k)?.kernelName !== k);
  assert.deepEqual(missing, []);
  assert.equal(
    new Set(DIFFERENTIABLE_KERNELS).size,
    DIFFERENTIABLE_KERNELS.length,
    "a kernel is listed twice",
  );
});

Deno.test("DIFFERENTIABLE_KERNELS covers the kernels a Mirasol3B training step runs", () => {
  const required = [
    "Add",
    "AddN",
    "Sub",
    "Multiply",
    "RealDiv",
    "Maximum",
    "Minimum",
    "SquaredDifference",
    "Pow",
    "Neg",
    "Abs",
    "Square",
    "Sqrt",
    "Rsqrt",
    "Reciprocal",
    "Exp",
    "Log",
    "Log1p",
    "Erf",
    "Tanh",
    "Sigmoid",
    "Relu",
    "Softplus",
    "Sin",
    "Cos",
    "Cast",
    "Identity",
    "Reshape",
    "ExpandDims",
    "Transpose",
    "Concat",
    "Pack",
    "Unpack",
    "Slice",
    "StridedSlice",
    "SplitV",
    "GatherV2",
    "PadV2",
    "Tile",
    "BroadcastTo",
    "Select",
    "ClipByValue",
    "Sum",
    "Mean",
    "Max",
    "Min",
    "Prod",
    "Softmax",
    "BatchMatMul",
    "Cumsum",
    "Floor",
    "Round",
    "Sign",
    "Step",
    "OneHot",
    "ZerosLike",
    "OnesLike",
    "Equal",
    "NotEqual",
    "Greater",
    "GreaterEqual",
    "Less",
    "LessEqual",
    "ArgMax",
  ];
  assert.deepEqual(required.filter((k) => !DIFFERENTIABLE_KERNELS.includes(k)), []);
});

Deno.test("every kernel in DIFFERENTIABLE_KERNELS is checked against finite differences by some case", () => {
  const checked = new Set([...ALL_CASES.map((c) => c.kernel), ...CHECKED_DIRECTLY]);
  assert.deepEqual(DIFFERENTIABLE_KERNELS.filter((k) => !checked.has(k)), []);
});

Deno.test("registerGradients() a second time registers nothing and keeps the same configs", () => {
  const before = DIFFERENTIABLE_KERNELS.map((k) => tf.getGradient(k));
  assert.deepEqual(registerGradients(), []);
  DIFFERENTIABLE_KERNELS.forEach((k, i) => assert.equal(tf.getGradient(k), before[i], k));
});

Deno.test("registerGradients() puts ours back over a gradient someone else registered", () => {
  const ours = tf.getGradient("Tanh");
  tf.registerGradient({ kernelName: "Tanh", gradFunc: (dy) => ({ x: () => tf.clone(dy as tf.Tensor) }) });
  try {
    assert.deepEqual(registerGradients(), ["Tanh"]);
    assert.equal(tf.getGradient("Tanh").gradFunc, ours.gradFunc);
  } finally {
    tf.registerGradient(ours);
  }
});

Deno.test("the finite-difference check rejects a wrong gradient (Maximum with its sides swapped)", () => {
  const ours = tf.getGradient("Maximum");
  const swapped = GRADIENT_CONFIGS.find((c) => c.kernelName === "Minimum")!;
  tf.registerGradient({ ...swapped, kernelName: "Maximum" });
  try {
    const c = ARITHMETIC_CASES.find((c) => c.kernel === "Maximum")!;
    assert.ok(checkGradient(c, 0).error > 0.1);
  } finally {
    tf.registerGradient(ours);
  }
  assert.ok(checkGradient(ARITHMETIC_CASES.find((c) => c.kernel === "Maximum")!, 0).error < 5e-3);
});

Deno.test("BroadcastTo gradient sums dy back over the broadcast axes", () => {
  const [dx] = tf.tidy(() => {
    const x = tf.zeros([3, 1]), dy = tf.tensor3d([[[1, 2], [3, 4], [5, 6]], [[10, 20], [30, 40], [50, 60]]]);
    const grads = tf.getGradient("BroadcastTo").gradFunc(dy, [x], { shape: [2, 3, 2], inputShape: [3, 1] });
    return [grads.x().arraySync()];
  });
  assert.deepEqual(dx, [[33], [77], [121]]);
});

Deno.test("LogSoftmax gradient matches finite differences of tf.logSoftmax", () => {
  const r = rng(3), x = normal(r, [2, 4]), dy = normal(r, [2, 4]);
  const f = (v: tf.Tensor) => tf.sum(tf.mul(tf.logSoftmax(v), dy)).dataSync()[0];
  const analytic = tf.tidy(() =>
    tf.getGradient("LogSoftmax").gradFunc(dy, [tf.logSoftmax(x)], { axis: -1 }).logits().dataSync()
  );
  const base = x.dataSync(), eps = 1e-2;
  base.forEach((_, j) => {
    const at = (d: number) =>
      tf.tidy(() => {
        const m = base.slice();
        m[j] += d;
        return f(tf.tensor(m, x.shape));
      });
    const numeric = (at(eps) - at(-eps)) / (2 * eps);
    assert.ok(
      Math.abs(analytic[j] - numeric) < 5e-3 * (1 + Math.abs(numeric)),
      `element ${j}: ${analytic[j]} vs ${numeric}`,
    );
  });
  tf.dispose([x, dy]);
});

Deno.test("Max and Min split the gradient evenly among tied extrema, as TensorFlow does", () => {
  const grad = (f: (v: tf.Tensor) => tf.Tensor, x: number[][]) =>
    tf.tidy(() => tf.grad((v) => tf.sum(f(v)))(tf.tensor2d(x)).arraySync());
  assert.deepEqual(grad((v) => tf.max(v, 1), [[1, 3, 3], [2, 2, 2]]), [
    [0, 0.5, 0.5],
    [1, 1, 1].map((v) => Math.fround(v / 3)),
  ]);
  assert.deepEqual(grad((v) => tf.min(v, 0), [[1, 2, 3], [1, 2, 0]]), [[0.5, 0.5, 0], [0.5, 0.5, 1]]);
});

Deno.test("gradients are differentiable again: d2/dx2 of sin x * x^3 by nested tf.grad", () => {
  const x = tf.tensor1d([0.3, -1.2, 2.0]);
  const second = tf.tidy(() =>
    tf.grad((v) => tf.grad((u) => tf.mul(tf.sin(u), tf.pow(u, 3)))(v))(x).dataSync()
  );
  // (sin x x^3)'' = -sin x x^3 + 6 cos x x^2 + 6 sin x x
  [0.3, -1.2, 2.0].forEach((v, i) => {
    const want = -Math.sin(v) * v ** 3 + 6 * Math.cos(v) * v ** 2 + 6 * Math.sin(v) * v;
    assert.ok(Math.abs(second[i] - want) < 1e-4 * (1 + Math.abs(want)), `x=${v}: ${second[i]} vs ${want}`);
  });
  x.dispose();
});

/** Plain float64 matrices for the hand-derived backprop. */
type Mat = number[][];
const matmul = (a: Mat, b: Mat): Mat =>
  a.map((row) => b[0].map((_, j) => row.reduce((s, v, k) => s + v * b[k][j], 0)));
const transpose = (a: Mat): Mat => a[0].map((_, j) => a.map((row) => row[j]));
const addRow = (a: Mat, b: number[]): Mat => a.map((row) => row.map((v, j) => v + b[j]));
const colSums = (a: Mat): number[] => a[0].map((_, j) => a.reduce((s, row) => s + row[j], 0));

/**
 * loss = mean over the batch of -sum(y * log softmax(relu(x W1 + b1) W2 + b2)), differentiated by
 * hand: dlogits = (softmax - y) / B, then back through the second layer, the relu and the first.
 */
function handBackprop(x: Mat, y: Mat, w1: Mat, b1: number[], w2: Mat, b2: number[]) {
  const pre = addRow(matmul(x, w1), b1);
  const h = pre.map((row) => row.map((v) => Math.max(v, 0)));
  const logits = addRow(matmul(h, w2), b2);
  const p = logits.map((row) => {
    const m = Math.max(...row), e = row.map((v) => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
    return e.map((v) => v / s);
  });
  const B = x.length;
  const loss = -p.reduce((s, row, i) => s + row.reduce((t, v, j) => t + y[i][j] * Math.log(v), 0), 0) / B;
  const dLogits = p.map((row, i) => row.map((v, j) => (v - y[i][j]) / B));
  const dH = matmul(dLogits, transpose(w2));
  const dPre = dH.map((row, i) => row.map((v, j) => (pre[i][j] > 0 ? v : 0)));
  const stopped = pre.flat().filter((v) => v <= 0).length / pre.flat().length;
  return {
    loss,
    stopped,
    w1: matmul(transpose(x), dPre),
    b1: colSums(dPre),
    w2: matmul(transpose(h), dLogits),
    b2: colSums(dLogits),
  };
}

function mlpLoss(x: tf.Tensor, y: tf.Tensor) {
  return (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
    const h = tf.relu(tf.add(tf.matMul(x, w1), b1)); // [B, H]
    const logits = tf.add(tf.matMul(h, w2), b2); // [B, C]
    return tf.neg(tf.mean(tf.sum(tf.mul(y, tf.log(tf.softmax(logits))), 1))) as tf.Scalar;
  };
}

function mlpInputs(seed: number) {
  const r = rng(seed);
  const B = 5, D = 4, H = 6, C = 3;
  const labels = [0, 2, 1, 2, 0];
  return {
    x: normal(r, [B, D]),
    y: tf.cast(tf.oneHot(tf.tensor1d(labels, "int32"), C), "float32"),
    params: [
      tf.mul(normal(r, [D, H]), 0.7),
      tf.mul(normal(r, [H]), 0.1),
      tf.mul(normal(r, [H, C]), 0.7),
      tf.mul(normal(r, [C]), 0.1),
    ],
  };
}

for (const backend of GRADIENT_BACKENDS) {
  Deno.test(`2-layer MLP + softmax cross-entropy gradients match a hand-derived backprop (${backend})`, async () => {
    await setBackend(backend);
    const { x, y, params } = mlpInputs(11);
    const { value, grads } = tf.valueAndGrads(mlpLoss(x, y))(params);
    const [w1, b1, w2, b2] = params.map((p) => p.arraySync());
    const want = handBackprop(
      x.arraySync() as Mat,
      y.arraySync() as Mat,
      w1 as Mat,
      b1 as number[],
      w2 as Mat,
      b2 as number[],
    );
    const close = (got: number[], expected: number[], what: string) =>
      got.forEach((g, i) =>
        assert.ok(
          Math.abs(g - expected[i]) < 1e-5 * (1 + Math.abs(expected[i])),
          `${what}[${i}]: ${g} vs ${expected[i]}`,
        )
      );
    close([value.dataSync()[0]], [want.loss], "loss");
    close([...grads[0].dataSync()], want.w1.flat(), "dW1");
    close([...grads[1].dataSync()], want.b1, "db1");
    close([...grads[2].dataSync()], want.w2.flat(), "dW2");
    close([...grads[3].dataSync()], want.b2, "db2");
    assert.ok(
      want.stopped > 0.2 && want.stopped < 0.8,
      `the relu should stop some units, not ${want.stopped}`,
    );
    tf.dispose([x, y, params, value, grads]);
  });

  Deno.test(`100 tf.valueAndGrads calls leave tf.memory().numTensors unchanged (${backend})`, async () => {
    await setBackend(backend);
    const { x, y, params } = mlpInputs(12);
    // Exercise the structural kernels too: slices, gathers, concat, strided slices, where, cumsum.
    const loss = (w1: tf.Tensor, b1: tf.Tensor, w2: tf.Tensor, b2: tf.Tensor): tf.Scalar => {
      const base = mlpLoss(x, y)(w1, b1, w2, b2);
      const rows = tf.gather(w1, tf.tensor1d([0, 2, 2], "int32"));
      const mixed = tf.concat(
        [tf.stridedSlice(w2, [0, 0], [6, 3], [2, 1]), tf.slice(rows, [0, 0], [3, 3])],
        0,
      );
      const extra = tf.sum(tf.where(tf.greater(mixed, 0), tf.cumsum(mixed, 1), tf.square(mixed)));
      return tf.add(base, tf.mul(tf.add(extra, tf.sum(tf.stack([b1, b1]))), 1e-3)) as tf.Scalar;
    };
    const run = () => {
      const { value, grads } = tf.valueAndGrads(loss)(params);
      tf.dispose([value, grads]);
    };
    run(); // first call may create backend-side caches
    const before = tf.memory().numTensors;
    for (let i = 0; i < 100; i++) run();
    assert.equal(tf.memory().numTensors, before);
    tf.dispose([x, y, params]);
  });
}

Deno.test("Cast to int32 or bool passes no gradient, even when the loss is that int tensor itself", () => {
  const x = tf.tensor1d([0.4, 1.7, -2.2]);
  assert.deepEqual(tf.tidy(() => tf.grad((v) => tf.cast(v, "int32"))(x).arraySync()), [0, 0, 0]);
  assert.deepEqual(tf.tidy(() => tf.grad((v) => tf.cast(v, "bool"))(x).arraySync()), [0, 0, 0]);
  assert.deepEqual(tf.tidy(() => tf.grad((v) => tf.mul(tf.cast(v, "float32"), 3))(x).arraySync()), [3, 3, 3]);
  x.dispose();
});
