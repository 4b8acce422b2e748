// transforms/gradients/ against TensorFlow's own gradients (gradients_tf_reference.py), on inputs
// placed exactly on kinks and ties, where finite differences say nothing: relu and abs at 0, clip
// at its bounds, maximum/where/max with equal values, prod with zeros, pow with a zero base.
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, setBackend } from "../../transforms/backend.ts";
import "../../transforms/gradients/mod.ts";
import { GRADIENT_BACKENDS, rng } from "./gradients_numeric.ts";

await setBackend("wasm");

type Attrs = Record<string, unknown>;
type RefCase = {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly { shape: number[]; data: number[] }[];
  readonly attrs?: Attrs;
  /** Only where a backend's forward kernel is wrong (see gradients_cases_structural.ts). */
  readonly backends?: readonly BackendName[];
};

const OPS: Record<string, (xs: tf.Tensor[], a: Attrs) => tf.Tensor> = {
  relu: ([x]) => tf.relu(x),
  abs: ([x]) => tf.abs(x),
  leaky_relu: ([x], a) => tf.leakyRelu(x, a.alpha as number),
  relu6: ([x]) => tf.relu6(x),
  elu: ([x]) => tf.elu(x),
  selu: ([x]) => tf.selu(x),
  clip: ([x], a) => tf.clipByValue(x, a.lo as number, a.hi as number),
  maximum: ([x, y]) => tf.maximum(x, y),
  minimum: ([x, y]) => tf.minimum(x, y),
  max: ([x], a) => tf.max(x, a.axis as number | undefined, a.keepDims as boolean | undefined),
  min: ([x], a) => tf.min(x, a.axis as number | undefined, a.keepDims as boolean | undefined),
  prod: ([x], a) => tf.prod(x, a.axis as number | undefined, a.keepDims as boolean | undefined),
  pow: ([x, y]) => tf.pow(x, y),
  where_greater: ([x, y]) => tf.where(tf.greater(x, y), x, y),
  floor_plus: ([x]) => tf.add(tf.mul(tf.floor(x), x), tf.mul(tf.sign(x), x)),
  strided_slice: ([x], a) =>
    tf.stridedSlice(
      x,
      a.begin as number[],
      a.end as number[],
      a.strides as number[],
      a.beginMask as number,
      a.endMask as number,
      a.ellipsisMask as number,
      a.newAxisMask as number,
      a.shrinkAxisMask as number,
    ),
  gather: ([x], a) =>
    tf.gather(
      x,
      tf.tensor(a.indices as number[], a.indicesShape as number[], "int32"),
      a.axis as number,
      a.batchDims as number,
    ),
  cumsum: ([x], a) => tf.cumsum(x, a.axis as number, a.exclusive as boolean, a.reverse as boolean),
  softmax_log: ([x]) => tf.log(tf.softmax(x)),
  matmul: ([x, y], a) => tf.matMul(x, y, a.transposeA as boolean, a.transposeB as boolean),
  squared_difference: ([x, y]) => tf.squaredDifference(x, y),
  erf_softplus_sigmoid: ([x]) => tf.add(tf.erf(x), tf.mul(tf.softplus(x), tf.sigmoid(x))),
  tile: ([x], a) => tf.tile(x, a.reps as number[]),
};

const t = (shape: number[], data: number[]) => ({ shape, data });
const seq = (n: number, scale = 0.37) =>
  Array.from({ length: n }, (_, i) => Math.fround(Math.sin(i + 1) * scale * 3));
const slice = { beginMask: 0, endMask: 0, ellipsisMask: 0, newAxisMask: 0, shrinkAxisMask: 0 };

const CASES: readonly RefCase[] = [
  { name: "relu at 0", op: "relu", inputs: [t([2, 3], [-1, 0, 2, 0, 3, -0.5])] },
  { name: "abs at 0", op: "abs", inputs: [t([2, 3], [-1, 0, 2, 0, 3, -0.5])] },
  {
    name: "leakyRelu at 0",
    op: "leaky_relu",
    attrs: { alpha: 0.2 },
    inputs: [t([2, 3], [-1, 0, 2, 0, 3, -0.5])],
  },
  { name: "relu6 at 0 and 6", op: "relu6", inputs: [t([6], [-1, 0, 3, 6, 7, 6])] },
  { name: "elu at 0", op: "elu", inputs: [t([4], [-1, 0, 2, -0.25])] },
  { name: "selu at 0", op: "selu", inputs: [t([4], [-1, 0, 2, -0.25])] },
  {
    name: "clip at both bounds",
    op: "clip",
    attrs: { lo: -1, hi: 1 },
    inputs: [t([6], [-2, -1, 0, 1, 2, 0.5])],
  },
  {
    name: "maximum with ties, b broadcast",
    op: "maximum",
    inputs: [t([2, 3], [1, 2, 3, 3, 2, 1]), t([3], [2, 2, 2])],
  },
  {
    name: "minimum with ties, b broadcast",
    op: "minimum",
    inputs: [t([2, 3], [1, 2, 3, 3, 2, 1]), t([3], [2, 2, 2])],
  },
  {
    name: "max over axis 1 with ties",
    op: "max",
    attrs: { axis: 1 },
    inputs: [t([2, 3], [1, 3, 3, 2, 2, 2])],
  },
  { name: "min over everything with ties", op: "min", inputs: [t([2, 3], [1, 0, 0, 5, 0, 2])] },
  {
    name: "max keepDims over axis 0",
    op: "max",
    attrs: { axis: 0, keepDims: true },
    inputs: [t([2, 2], [4, 1, 4, 3])],
  },
  {
    name: "prod with one and two zeros in a row",
    op: "prod",
    attrs: { axis: 1 },
    inputs: [t([3, 3], [0, 2, 3, 0, 0, 4, 1, 2, 3])],
  },
  {
    name: "pow with zero and negative bases",
    op: "pow",
    inputs: [t([4], [0, 2, -1.5, 0.5]), t([4], [2, 3, 2, 1])],
  },
  {
    name: "where(a > b) with ties goes to b",
    op: "where_greater",
    inputs: [t([2, 2], [1, 2, 3, 3]), t([2, 2], [1, 1, 3, 4])],
  },
  { name: "floor and sign at integers and 0", op: "floor_plus", inputs: [t([4], [0, 1, -1, 2.5])] },
  {
    name: "stridedSlice x[4:0:-3, ::2]",
    op: "strided_slice",
    attrs: { ...slice, begin: [4, 0], end: [0, 0], strides: [-3, 2], endMask: 2 },
    inputs: [t([6, 4], seq(24))],
  },
  {
    name: "stridedSlice x[..., tf.newaxis, 1]",
    op: "strided_slice",
    attrs: {
      ...slice,
      begin: [0, 0, 1],
      end: [0, 0, 2],
      strides: [1, 1, 1],
      ellipsisMask: 1,
      newAxisMask: 2,
      shrinkAxisMask: 4,
    },
    inputs: [t([2, 3, 4], seq(24))],
  },
  {
    name: "gather along axis 1 with repeats",
    op: "gather",
    attrs: { indices: [2, 0, 2, 2], indicesShape: [2, 2], axis: 1, batchDims: 0 },
    inputs: [t([2, 3, 2], seq(12))],
  },
  {
    name: "gather with batchDims 1",
    op: "gather",
    backends: ["cpu"],
    attrs: { indices: [1, 1, 3, 0, 2, 0], indicesShape: [2, 3], axis: 1, batchDims: 1 },
    inputs: [t([2, 4, 2], seq(16))],
  },
  {
    name: "cumsum exclusive reversed",
    op: "cumsum",
    attrs: { axis: 1, exclusive: true, reverse: true },
    inputs: [t([2, 4], seq(8))],
  },
  { name: "log softmax", op: "softmax_log", inputs: [t([2, 4], seq(8))] },
  {
    name: "matmul a^T b^T with b broadcast",
    op: "matmul",
    attrs: { transposeA: true, transposeB: true },
    inputs: [t([2, 3, 2], seq(12)), t([4, 3], seq(12, 0.5))],
  },
  {
    name: "squaredDifference broadcast",
    op: "squared_difference",
    inputs: [t([2, 3], seq(6)), t([2, 1], [0.5, -0.5])],
  },
  { name: "erf, softplus and sigmoid", op: "erf_softplus_sigmoid", inputs: [t([5], [-2, -0.5, 0, 0.5, 2])] },
  { name: "tile", op: "tile", attrs: { reps: [2, 2, 1] }, inputs: [t([2, 1, 3], seq(6))] },
];

/** Our gradients of sum(w * op(xs)) as flat arrays, one per input. */
function ours(c: RefCase, w: { shape: number[]; data: number[] }): number[][] {
  return tf.tidy(() => {
    const xs = c.inputs.map((i) => tf.tensor(i.data, i.shape, "float32"));
    const loss = (...a: tf.Tensor[]) =>
      tf.sum(tf.mul(OPS[c.op](a, c.attrs ?? {}), tf.tensor(w.data, w.shape)));
    return tf.grads(loss)(xs).map((g) => [...g.dataSync()]);
  });
}

async function tensorflowGradients(job: unknown): Promise<Record<string, number[][]>> {
  const python = new URL("../../.venv/bin/python", import.meta.url).pathname;
  const script = new URL("./gradients_tf_reference.py", import.meta.url).pathname;
  const child = new Deno.Command(python, { args: [script], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(job)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  return JSON.parse(new TextDecoder().decode(stdout));
}

Deno.test("gradients at kinks, ties and zeros agree with TensorFlow's (cpu and wasm)", async () => {
  const r = rng(5);
  const job = CASES.map((c) => {
    const shape = tf.tidy(() =>
      OPS[c.op](c.inputs.map((i) => tf.tensor(i.data, i.shape)), c.attrs ?? {}).shape
    );
    const w = t(
      shape,
      Array.from({ length: shape.reduce((n, d) => n * d, 1) }, () => Math.fround(r() * 2 - 1)),
    );
    return { ...c, w };
  });
  const reference = await tensorflowGradients(job);
  const mismatches: string[] = [];
  for (const backend of GRADIENT_BACKENDS) {
    await setBackend(backend);
    for (const c of job) {
      if (c.backends && !c.backends.includes(backend)) continue;
      ours(c, c.w).forEach((g, i) =>
        g.forEach((v, j) => {
          const want = reference[c.name][i][j];
          if (!(Math.abs(v - want) <= 1e-5 * (1 + Math.abs(want)))) {
            mismatches.push(`${c.name} (${backend}) input ${i}[${j}]: ${v} vs TF ${want}`);
          }
        })
      );
    }
  }
  assert.deepEqual(mismatches, []);
});
