/**
 * The signature machinery is generic over input dtypes and names: a uint32 PRNG key input (which a
 * `train_loss(key, ...)` signature takes) reaches the FunctionDef's argument types, `_input_shapes`
 * and `arg_attr`, the graph's Placeholder and the SignatureDef without any dtype-specific code, and
 * the MetaGraphDef lists each op's OpDef. Built from a hand-made traced graph: tfjs has no uint32.
 */
import assert from "node:assert/strict";
import type * as tf from "@tensorflow/tfjs-core";
import { DataType } from "../../formats/protos/tensorflow/core/framework/types_pb.ts";
import type { Graph } from "../../transforms/trace.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import { buildSignatureFunction } from "../../export/savedmodel/functions.ts";
import { metaGraph } from "../../export/savedmodel/meta_graph.ts";
import { checkNodes } from "../../export/savedmodel/op_defs.ts";
import { buildRestoreFunction, buildSaveFunction } from "../../export/savedmodel/saver.ts";
import { buildSignatureWrapper } from "../../export/savedmodel/signatures.ts";
import { nodeDef } from "../../export/savedmodel/tf_protos.ts";

// train_loss(key: uint32[2], x: float32[4, 3]) -> {key_out: key, scaled: x * w}, with one variable w.
const value = (id: number, shape: number[], dtype: string) => ({ id, shape, dtype: dtype as tf.DataType });
const graph: Graph = {
  nodes: [
    { kind: "arg", arg: 0, path: "w", out: value(0, [3], "float32") },
    { kind: "arg", arg: 1, path: "key", out: value(1, [2], "uint32") },
    { kind: "arg", arg: 1, path: "x", out: value(2, [4, 3], "float32") },
    {
      kind: "op",
      op: "Multiply",
      inputs: [{ name: "a", value: 2 }, { name: "b", value: 0 }],
      attrs: {},
      outs: [value(3, [4, 3], "float32")],
      site: { layer: "", source: "test" },
    },
  ],
  outputs: [{ path: "key_out", value: 1 }, { path: "scaled", value: 3 }],
  outputTree:
    treeFlatten({ key_out: { shape: [2], dtype: "int32" }, scaled: { shape: [4, 3], dtype: "float32" } })
      .treedef,
};
const variables = [{ path: "w", shape: [3], dtype: "float32" as const }];
const inner = buildSignatureFunction(graph, {
  fnName: "__inference_train_loss_100",
  paramMode: "variables",
  computeDtype: "float32",
});
const wrapper = buildSignatureWrapper(
  inner.concrete,
  "__inference_signature_wrapper_train_loss_101",
  new Map([["w", variables[0]]]),
);
const save = buildSaveFunction(
  variables,
  ["params/w/.ATTRIBUTES/VARIABLE_VALUE"],
  "__inference__traced_save_102",
);
const restore = buildRestoreFunction(
  variables,
  ["params/w/.ATTRIBUTES/VARIABLE_VALUE"],
  "__inference__traced_restore_103",
);
const library = [inner.def, wrapper.def, save.def, restore.def];
const meta = metaGraph({
  variables,
  signatures: { train_loss: wrapper.concrete },
  library,
  save: save.concrete,
  restore: restore.concrete,
  checkpointGraph: new Uint8Array(0),
  objectGraph: undefined as never,
});

Deno.test("a uint32 input becomes a DT_UINT32 argument with its static shape in _input_shapes and arg_attr", () => {
  const sig = inner.def.signature!;
  assert.deepEqual(sig.inputArg.map((a) => [a.name, DataType[a.type]]), [
    ["key", "DT_UINT32"],
    ["x", "DT_FLOAT"],
    ["resource_0", "DT_RESOURCE"],
  ]);
  assert.deepEqual(
    sig.inputArg[2].handleData.map((h) => [DataType[h.dtype], h.shape!.dim.map((d) => d.size)]),
    [["DT_FLOAT", [3n]]],
  );
  const shapes = inner.def.attr._input_shapes.value;
  assert.equal(shapes.case, "list");
  assert.deepEqual(shapes.value.shape.map((s) => s.dim.map((d) => Number(d.size))), [[2], [4, 3], []]);
  const key = inner.def.argAttr[0].attr;
  assert.equal(new TextDecoder().decode(key._user_specified_name.value.value as Uint8Array), "key");
  assert.deepEqual(inner.concrete.outputs.map((o) => [o.name, o.dtype]), [["key_out", "uint32"], [
    "scaled",
    "float32",
  ]]);
});

Deno.test("the graph gets a uint32 Placeholder and the SignatureDef a DT_UINT32 TensorInfo named after it", () => {
  const placeholder = meta.graphDef!.node.find((n) => n.name === "train_loss_key")!;
  assert.equal(placeholder.op, "Placeholder");
  assert.equal(placeholder.attr.dtype.value.value, DataType.DT_UINT32);
  const sig = meta.signatureDef.train_loss;
  const key = sig.inputs.key;
  assert.deepEqual([key.encoding.value, DataType[key.dtype], key.tensorShape!.dim.map((d) => d.size)], [
    "train_loss_key:0",
    "DT_UINT32",
    [2n],
  ]);
  assert.deepEqual(Object.keys(sig.outputs).map((k) => [k, sig.outputs[k].encoding.value]), [[
    "key_out",
    "StatefulPartitionedCall:0",
  ], ["scaled", "StatefulPartitionedCall:1"]]);
  assert.equal(sig.methodName, "tensorflow/serving/predict");
});

Deno.test("saver_def points at the save and restore calls, and the init op is a NoOp signature", () => {
  assert.equal(meta.saverDef!.filenameTensorName, "saver_filename:0");
  assert.equal(meta.saverDef!.saveTensorName, "StatefulPartitionedCall_1:0");
  assert.equal(meta.saverDef!.restoreOpName, "StatefulPartitionedCall_2");
  assert.equal(meta.signatureDef.__saved_model_init_op.outputs.__saved_model_init_op.encoding.value, "NoOp");
  assert.deepEqual(meta.collectionDef.saved_model_main_op.kind.value, {
    $typeName: "tensorflow.CollectionDef.NodeList",
    value: ["NoOp"],
  });
});

Deno.test("stripped_op_list has the OpDef of every op used, sorted, and every node passes the OpDef check", () => {
  const listed = meta.metaInfoDef!.strippedOpList!.op.map((o) => o.name);
  assert.deepEqual(listed, [...listed].sort());
  for (
    const op of [
      "Identity",
      "Mul",
      "Placeholder",
      "ReadVariableOp",
      "RestoreV2",
      "SaveV2",
      "StatefulPartitionedCall",
      "VarHandleOp",
    ]
  ) {
    assert.ok(listed.includes(op), op);
  }
  const problems = [
    ...checkNodes("graph", meta.graphDef!.node, false),
    ...library.flatMap((f) => checkNodes(f.signature!.name, f.nodeDef, true)),
  ];
  assert.deepEqual(problems, []);
});

Deno.test("the OpDef check names an undeclared attr, a missing required attr and a wrong output name", () => {
  const nodes = [
    nodeDef({ name: "a", op: "Const", inputs: [], attrs: { dtype: { type: "float32" } } }),
    nodeDef({
      name: "b",
      op: "Identity",
      inputs: ["a:value:0"],
      attrs: { T: { type: "float32" }, Tidx: { type: "int32" } },
    }),
    nodeDef({ name: "c", op: "NoSuchOp", inputs: [], attrs: {} }),
  ];
  const reasons = checkNodes("f", nodes, true).map((p) => `${p.node}: ${p.reason}`);
  assert.deepEqual(reasons, [
    "a: leaves out attr 'value', which has no default",
    "b: sets attr 'Tidx', which Identity does not declare",
    "b: reads 'a:value:0', but Const has no output 'value' (it has output)",
    "c: NoSuchOp is not an op of TensorFlow 2.21's registry (formats/protos/tensorflow/op_defs.ts)",
  ]);
});
