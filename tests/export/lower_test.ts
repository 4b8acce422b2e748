/**
 * The kernel -> TensorFlow op table: names, attrs, attr-to-Const inputs, dtype attrs; and the errors
 * for what has no TensorFlow form, which name the op and where it was traced.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { trace } from "../../transforms/trace.ts";
import { UnsupportedOpError } from "../../export/savedmodel/errors.ts";
import { exportSavedModel } from "../../export/savedmodel/export.ts";
import { lowerGraph, type TfNode, toBfloat16 } from "../../export/savedmodel/lower.ts";
import { f32 } from "./_fixtures.ts";

await setBackend("wasm");

function lower(
  f: (p: { w: tf.Tensor }, x: tf.Tensor) => tf.Tensor,
  w: number[],
  x: number[],
  computeDtype: "float32" | "bfloat16" = "float32",
) {
  const g = trace(f, { w: f32(...w) }, f32(...x));
  return lowerGraph(g, (a) => ({ arg: a.arg === 0 ? `w` : "x" }), { computeDtype }).nodes;
}
const byOp = (nodes: TfNode[], op: string) => nodes.filter((n) => n.op === op);
const constValues = (nodes: TfNode[], ref: { node: string } | { arg: string }) => {
  const n = nodes.find((m) => "node" in ref && m.name === ref.node)!;
  const t = (n.attrs.value as { tensor: { content: Uint8Array } }).tensor;
  return Array.from(new Int32Array(t.content.slice().buffer));
};

Deno.test("BatchMatMul becomes BatchMatMulV2 with adj_x/adj_y and its T attr", () => {
  const [mm] = byOp(lower((p, x) => tf.matMul(x, p.w, false, true), [3, 4], [2, 4]), "BatchMatMulV2");
  assert.deepEqual(mm.attrs, { T: { type: "float32" }, adj_x: { b: false }, adj_y: { b: true } });
  assert.deepEqual(mm.inputs, [{ arg: "x" }, { arg: "w" }]);
});

Deno.test("Multiply becomes Mul, Add becomes AddV2, and a scalar operand becomes a Const", () => {
  const nodes = lower((p, x) => tf.add(tf.mul(x, p.w), 2), [4], [2, 4]);
  assert.equal(byOp(nodes, "Mul").length, 1);
  assert.equal(byOp(nodes, "AddV2").length, 1);
  assert.equal(byOp(nodes, "Multiply").length + byOp(nodes, "Add").length, 0);
  const two = byOp(nodes, "Const")[0].attrs.value as {
    tensor: { shape: readonly number[]; content: Uint8Array };
  };
  assert.deepEqual(two.tensor.shape, []);
  assert.deepEqual(Array.from(new Float32Array(two.tensor.content.slice().buffer)), [2]);
});

Deno.test("shapes, permutations and reduction axes become int32 Const inputs", () => {
  const nodes = lower((_p, x) => tf.sum(tf.transpose(tf.reshape(x, [4, 2]), [1, 0]), 1, true), [1], [2, 4]);
  const [reshape] = byOp(nodes, "Reshape"),
    [transpose] = byOp(nodes, "Transpose"),
    [sum] = byOp(nodes, "Sum");
  assert.deepEqual(constValues(nodes, reshape.inputs[1] as { node: string }), [4, 2]);
  assert.deepEqual(constValues(nodes, transpose.inputs[1] as { node: string }), [1, 0]);
  assert.deepEqual(constValues(nodes, sum.inputs[1] as { node: string }), [1]);
  assert.deepEqual(sum.attrs.keep_dims, { b: true });
  assert.deepEqual(sum.attrs.Tidx, { type: "int32" });
});

Deno.test("exact GELU lowers to Erf, and slices carry their begin/size as Consts", () => {
  const nodes = lower(
    (_p, x) => tf.slice(tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2)))), [0, 1], [2, 2]),
    [1],
    [2, 4],
  );
  assert.equal(byOp(nodes, "Erf").length, 1);
  const [slice] = byOp(nodes, "Slice");
  assert.deepEqual(constValues(nodes, slice.inputs[1] as { node: string }), [0, 1]);
  assert.deepEqual(constValues(nodes, slice.inputs[2] as { node: string }), [2, 2]);
});

Deno.test("bfloat16 compute casts float32 arguments in and types every float op as bfloat16", () => {
  const nodes = lower((p, x) => tf.matMul(x, p.w), [4, 3], [2, 4], "bfloat16");
  assert.equal(byOp(nodes, "Cast").length, 2);
  assert.deepEqual(byOp(nodes, "BatchMatMulV2")[0].attrs.T, { type: "bfloat16" });
});

Deno.test("toBfloat16 rounds to nearest even and keeps NaN a NaN", () => {
  const bits = (x: number) => new Uint16Array(toBfloat16(Float32Array.of(x)).buffer)[0];
  assert.equal(bits(1), 0x3f80);
  assert.equal(bits(-2), 0xc000);
  assert.equal(bits(1 + 2 ** -8), 0x3f80); // a tie rounds to even
  assert.equal(bits(1 + 3 * 2 ** -8), 0x3f82);
  assert.equal(bits(NaN) & 0x7fc0, 0x7fc0);
});

Deno.test("a kernel with no TensorFlow mapping is an error naming the op, the layer and the source line", () => {
  const g = trace((p: { blk: { alpha: tf.Tensor } }, x: tf.Tensor) => tf.prelu(x, p.blk.alpha), {
    blk: { alpha: f32(4) },
  }, f32(2, 4));
  try {
    lowerGraph(g, (a) => ({ arg: `a${a.arg}` }));
    assert.fail("expected UnsupportedOpError");
  } catch (e) {
    assert.ok(e instanceof UnsupportedOpError);
    assert.equal(e.op, "Prelu");
    assert.equal(e.layer, "blk");
    assert.match(e.source, /tests\/export\/lower_test\.ts:\d+/);
    assert.match(
      e.message,
      /^Cannot export Prelu at blk \(tests\/export\/lower_test\.ts:\d+\): no TensorFlow op mapping/,
    );
  }
});

Deno.test("a dtype TensorFlow export lacks is an error naming the op", async () => {
  const dir = await Deno.makeTempDir();
  const res = await Effect.runPromise(Effect.result(exportSavedModel({
    params: {},
    signatures: { f: { fn: (_p, i) => tf.add(i.z, i.z), inputs: { z: { shape: [2], dtype: "complex64" } } } },
    paramMode: "inputs",
  }, `${dir}/out`)));
  await Deno.remove(dir, { recursive: true });
  assert.equal(res._tag, "Failure");
  assert.match(
    (res as { failure: Error }).failure.message,
    /Cannot export Add .*dtype complex64 has no TensorFlow export/,
  );
});

Deno.test("a failed export leaves no folder behind", async () => {
  const dir = await Deno.makeTempDir();
  const res = await Effect.runPromise(Effect.result(exportSavedModel({
    params: { alpha: tf.ones([4]) },
    signatures: { f: { fn: (p, i) => tf.prelu(i.x, p.alpha), inputs: { x: f32(2, 4) } } },
  }, `${dir}/out`)));
  assert.equal(res._tag, "Failure");
  assert.deepEqual([...Deno.readDirSync(dir)], []);
  await Deno.remove(dir);
});
