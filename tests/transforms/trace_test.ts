import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import {
  type Graph,
  isTracing,
  opCounts,
  printGraph,
  pruneGraph,
  trace,
  TraceError,
  type TraceNode,
} from "../../transforms/trace.ts";

await setBackend("wasm");

const f32 = (...shape: number[]) => ({ shape, dtype: "float32" as const });
type Mlp = { l1: { w: tf.Tensor; b: tf.Tensor }; l2: { w: tf.Tensor; b: tf.Tensor } };
const mlp = (p: Mlp, x: tf.Tensor) =>
  tf.add(tf.matMul(tf.relu(tf.add(tf.matMul(x, p.l1.w), p.l1.b)), p.l2.w), p.l2.b);
const mlpShapes = (i: number, h: number, o: number) => ({
  l1: { w: f32(i, h), b: f32(h) },
  l2: { w: f32(h, o), b: f32(o) },
});

const ops = (g: Graph) => g.nodes.filter((n): n is Extract<TraceNode, { kind: "op" }> => n.kind === "op");
const outShape = (g: Graph, k = 0) => {
  const id = g.outputs[k].value;
  for (const n of g.nodes) {
    for (const o of n.kind === "op" ? n.outs : [n.out]) if (o.id === id) return [...o.shape];
  }
  throw new Error("no such output");
};

Deno.test("trace of an MLP lists its kernels in order with static output shapes", () => {
  const g = trace(mlp, mlpShapes(4, 8, 3), f32(2, 4));
  assert.deepEqual(ops(g).map((n) => [n.op, n.outs[0].shape]), [
    ["BatchMatMul", [2, 8]],
    ["Add", [2, 8]],
    ["Relu", [2, 8]],
    ["BatchMatMul", [2, 3]],
    ["Add", [2, 3]],
  ]);
  const args = g.nodes.filter((n) => n.kind === "arg").map((n) => n.kind === "arg" && `${n.arg}/${n.path}`);
  assert.deepEqual(args, ["0/l1/b", "0/l1/w", "0/l2/b", "0/l2/w", "1/"]);
  assert.deepEqual(outShape(g), [2, 3]);
});

Deno.test("trace allocates no tensor data: a 40 GB parameter traces and the backend's memory is unchanged", () => {
  const before = tf.memory();
  const g = trace(
    (p: { w: tf.Tensor }, x: tf.Tensor) => tf.matMul(x, p.w),
    { w: f32(100_000, 100_000) },
    f32(8, 100_000),
  );
  assert.deepEqual(outShape(g), [8, 100_000]);
  const after = tf.memory();
  assert.equal(after.numTensors, before.numTensors);
  assert.equal(after.numBytes, before.numBytes);
  assert.equal(tf.getBackend(), "wasm");
});

Deno.test("traced shapes equal eager shapes for random MLPs, reshapes, transposes, slices, concats and reductions", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 0, max: 2 }),
      fc.boolean(),
      (B, D, H, axis, keepDims) => {
        const f = (p: { w: tf.Tensor }, x: tf.Tensor) => {
          const h = tf.reshape(tf.matMul(x, p.w), [B, H, 1]); // [B, H, 1]
          const t = tf.transpose(tf.concat([h, h], 2), [2, 0, 1]); // [2, B, H]
          const s = tf.slice(t, [0, 0, 0], [1, -1, Math.max(1, H - 1)]);
          return {
            sum: tf.sum(tf.softmax(s), axis, keepDims),
            max: tf.max(t, axis),
            mean: tf.mean(tf.stack([t, t], 1), [0, 3]),
          };
        };
        const g = trace(f, { w: f32(D, H) }, f32(B, D));
        const eager = tf.tidy(() => {
          const out = f({ w: tf.ones([D, H]) }, tf.ones([B, D]));
          return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, [...v.shape]]));
        });
        g.outputs.forEach((o, k) => assert.deepEqual(outShape(g, k), eager[o.path], o.path));
      },
    ),
    { numRuns: 100, seed: 42 },
  );
});

Deno.test("host values become constants and captured tensors are read without leaving their backend", () => {
  const captured = tf.tensor1d([1, 2, 3]);
  const g = trace((x: tf.Tensor) => tf.mul(tf.add(x, captured), 2), f32(3));
  const consts = g.nodes.filter((n) => n.kind === "const");
  assert.deepEqual(consts.map((n) => n.kind === "const" && Array.from(n.data as Float32Array)), [[1, 2, 3], [
    2,
  ]]);
  assert.deepEqual(Array.from(captured.dataSync()), [1, 2, 3]); // still on wasm, still readable
  assert.deepEqual(opCounts(g), { arg: 1, const: 2, Add: 1, Multiply: 1 });
});

Deno.test("reading a traced value fails with the op and the source line that made it", () => {
  assert.throws(
    () => trace((x: tf.Tensor) => (tf.max(x).dataSync()[0] > 0 ? x : tf.neg(x)), f32(3)),
    TraceError,
  );
  try {
    trace((x: tf.Tensor) => tf.max(x).dataSync(), f32(3));
    assert.fail("expected a TraceError");
  } catch (e) {
    assert.ok(e instanceof TraceError);
    assert.equal(e.op, "Max");
    assert.match(e.site.source, /tests\/transforms\/trace_test\.ts:\d+/);
    assert.match(e.message, /Cannot trace Max .*depend on data/);
  }
  assert.equal(tf.getBackend(), "wasm", "the previous backend is restored after a failed trace");
});

Deno.test("a dynamic input dimension is refused with the input's path", () => {
  assert.throws(
    () => trace((x: { tokens: tf.Tensor }) => tf.neg(x.tokens), { tokens: f32(-1, 4) }),
    /0\/tokens.*dynamic or invalid shape \[-1,4\]/,
  );
});

Deno.test("a kernel whose output shape depends on data is refused as a dynamic shape", () => {
  assert.throws(
    () => trace((x: tf.Tensor) => tf.unique(x).values, f32(5)),
    /Cannot trace Unique .*dynamic shape/,
  );
});

Deno.test("each node records the layer whose parameter was last consumed", () => {
  const g = trace(mlp, mlpShapes(4, 8, 3), f32(2, 4));
  assert.deepEqual(ops(g).map((n) => n.site.layer), ["l1", "l1", "l1", "l2", "l2"]);
});

Deno.test("isTracing is true inside trace only", () => {
  let inside = false;
  trace((x: tf.Tensor) => {
    inside = isTracing();
    return x;
  }, f32(1));
  assert.equal(inside, true);
  assert.equal(isTracing(), false);
});

Deno.test("printGraph shows typed values, attrs and outputs like a jaxpr", () => {
  const text = printGraph(
    trace(
      (p: { w: tf.Tensor }, x: tf.Tensor) => ({ y: tf.matMul(x, p.w, false, true) }),
      { w: f32(3, 4) },
      f32(2, 4),
    ),
  );
  assert.equal(
    text,
    [
      "{ lambda %0:f32[3,4] %1:f32[2,4] ; let",
      "    %0 = arg 0/w",
      "    %1 = arg 1",
      "    %2:f32[2,3] = BatchMatMul[transposeA=false,transposeB=true] %1 %0",
      "  in {y: %2} }",
    ].join("\n"),
  );
});

Deno.test("pruneGraph drops nodes no output depends on and keeps every argument", () => {
  const g = trace(
    (x: tf.Tensor, _unused: tf.Tensor) => {
      tf.exp(tf.mul(x, 3)); // dead
      return tf.neg(x);
    },
    f32(2),
    f32(5),
  );
  const p = pruneGraph(g);
  assert.deepEqual(opCounts(p), { arg: 2, Neg: 1 });
  assert.ok(opCounts(g).Exp === 1);
});
