/**
 * The MetaGraphDef of a TF2 object-graph SavedModel, laid out as `tf.saved_model.save` writes it, so
 * that every SavedModel consumer finds what it reads:
 * - `object_graph_def` + `graph_def.library`: the TF2 loader (`tf.saved_model.load`);
 * - `graph_def.node`: one VarHandleOp per variable, per signature one Placeholder per input and a
 *   call node, the init NoOp, the object graph Const, `saver_filename` and the save/restore calls:
 *   the C++ loader (TF Serving), `tf.compat.v1.saved_model.loader`, TFLite, tf2onnx, tfjs;
 * - `signature_def`: each signature's TensorInfos (`<key>_<input>:0`, `<call>:<i>`), and
 *   `__saved_model_init_op`; `saver_def` + `collection_def[saved_model_main_op]`: how those
 *   loaders restore variables and initialise.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import type { FunctionDef } from "../../formats/protos/tensorflow/core/framework/function_pb.ts";
import {
  type MetaGraphDef,
  MetaGraphDefSchema,
  type SignatureDefSchema,
} from "../../formats/protos/tensorflow/core/protobuf/meta_graph_pb.ts";
import type { SavedObjectGraph } from "../../formats/protos/tensorflow/core/protobuf/saved_object_graph_pb.ts";
import { SaverDef_CheckpointFormatVersion } from "../../formats/protos/tensorflow/core/protobuf/saver_pb.ts";
import type { ConcreteFunction, TensorSpec } from "./functions.ts";
import type { VariableLeaf } from "./object_graph.ts";
import { tensorValue } from "./lower.ts";
import { strippedOpList } from "./op_defs.ts";
import { callNode } from "./signatures.ts";
import { DT, nodeDef, type NodeSpec, shapeProto } from "./tf_protos.ts";

/** TF 2.21's graph version is 2474; older consumers accept producer 1994 (see savedmodel-format.md). */
export const GRAPH_VERSIONS = { producer: 1994, minConsumer: 12 };
export const TF_VERSION = "2.21.0";
export const SERVING_TAG = "serve";
const PREDICT = "tensorflow/serving/predict";
const INIT_OP = "__saved_model_init_op";

export type MetaGraphSpec = {
  readonly variables: readonly VariableLeaf[];
  /** Signature key -> its wrapper (e.g. serving_default and forward may share one). */
  readonly signatures: Readonly<Record<string, ConcreteFunction>>;
  readonly library: readonly FunctionDef[];
  readonly save: ConcreteFunction;
  readonly restore: ConcreteFunction;
  /** Serialized TrackableObjectGraph, the object graph checkpoint entry that save() writes. */
  readonly checkpointGraph: Uint8Array;
  readonly objectGraph: SavedObjectGraph;
};

/** Node names are unique in a graph; a later clash gets `_1`, `_2`, ... as TensorFlow's naming does. */
function nameRegistry() {
  const taken = new Set<string>();
  return (base: string) => {
    let name = base;
    for (let k = 1; taken.has(name); k++) name = `${base}_${k}`;
    taken.add(name);
    return name;
  };
}

const tensorInfo = (name: string, t: TensorSpec) => ({
  encoding: { case: "name" as const, value: name },
  dtype: DT[t.dtype],
  tensorShape: shapeProto(t.shape),
});

export function metaGraph(spec: MetaGraphSpec): MetaGraphDef {
  // Names are given in the order TensorFlow creates these nodes, so a clash resolves as it would.
  const unique = nameRegistry();
  const nodes: NodeSpec[] = [];
  const handles = new Map<string, string>();
  for (const v of spec.variables) {
    const name = unique(v.path);
    handles.set(v.path, name);
    nodes.push({
      name,
      op: "VarHandleOp",
      inputs: [],
      attrs: {
        dtype: { type: v.dtype },
        shape: { shape: v.shape },
        shared_name: { s: v.path },
        debug_name: { s: `${v.path}/` },
        _output_shapes: { listShape: [[]] },
      },
    });
    nodes.push({
      name: unique(`${name}/Read/ReadVariableOp`),
      op: "ReadVariableOp",
      inputs: [name],
      attrs: { dtype: { type: v.dtype }, _output_shapes: { listShape: [v.shape] } },
    });
  }
  const bound = (fn: ConcreteFunction) => fn.boundVariables.map((p) => handles.get(p)!);

  const signatureDef: Record<string, MessageInitShape<typeof SignatureDefSchema>> = {};
  for (const key of Object.keys(spec.signatures).sort()) {
    const fn = spec.signatures[key];
    const placeholders = fn.inputs.map((i) => {
      const name = unique(`${key}_${i.name}`);
      nodes.push({
        name,
        op: "Placeholder",
        inputs: [],
        attrs: {
          dtype: { type: i.dtype },
          shape: { shape: i.shape },
          _output_shapes: { listShape: [i.shape] },
        },
      });
      return name;
    });
    const call = callNode("", fn, [...placeholders, ...bound(fn)]);
    const name = unique(call.op);
    nodes.push({ ...call, name });
    signatureDef[key] = {
      inputs: Object.fromEntries(fn.inputs.map((i, j) => [i.name, tensorInfo(`${placeholders[j]}:0`, i)])),
      outputs: Object.fromEntries(fn.outputs.map((o, j) => [o.name, tensorInfo(`${name}:${j}`, o)])),
      methodName: PREDICT,
    };
  }
  const [noOp, objectGraph, filename] = [unique("NoOp"), unique("Const"), unique("saver_filename")];
  signatureDef[INIT_OP] = {
    outputs: { [INIT_OP]: { encoding: { case: "name", value: noOp }, tensorShape: shapeProto(null) } },
  };

  const [saveCall, restoreCall] = [unique("StatefulPartitionedCall"), unique("StatefulPartitionedCall")];
  nodes.push(
    { name: noOp, op: "NoOp", inputs: [], attrs: {} },
    {
      name: objectGraph,
      op: "Const",
      inputs: [],
      device: "/device:CPU:0",
      attrs: {
        value: { tensor: tensorValue([spec.checkpointGraph], [], "string") },
        dtype: { type: "string" },
        _output_shapes: { listShape: [[]] },
      },
    },
    {
      name: filename,
      op: "Placeholder",
      inputs: [],
      attrs: { dtype: { type: "string" }, shape: { shape: [] }, _output_shapes: { listShape: [[]] } },
    },
    saverCall(saveCall, spec.save, [filename, ...bound(spec.save), objectGraph]),
    saverCall(restoreCall, spec.restore, [filename, ...bound(spec.restore)]),
  );

  const graphNodes = nodes.map(nodeDef);
  return create(MetaGraphDefSchema, {
    metaInfoDef: {
      strippedOpList: { op: strippedOpList(graphNodes, spec.library) },
      tags: [SERVING_TAG],
      tensorflowVersion: TF_VERSION,
      strippedDefaultAttrs: true,
    },
    graphDef: {
      node: nodes.map(nodeDef),
      library: { function: [...spec.library] },
      versions: GRAPH_VERSIONS,
    },
    saverDef: {
      filenameTensorName: `${filename}:0`,
      saveTensorName: `${saveCall}:0`,
      restoreOpName: restoreCall,
      version: SaverDef_CheckpointFormatVersion.V2,
    },
    collectionDef: { saved_model_main_op: { kind: { case: "nodeList", value: { value: [noOp] } } } },
    signatureDef,
    objectGraphDef: spec.objectGraph,
  });
}

/** save(file_prefix, handles..., object_graph) or restore(file_prefix, handles...) -> file_prefix. */
function saverCall(name: string, fn: ConcreteFunction, inputs: readonly string[]): NodeSpec {
  const resources = fn.boundVariables.map(() => "resource" as const);
  const strings = inputs.length - resources.length;
  return {
    name,
    op: "StatefulPartitionedCall",
    inputs,
    attrs: {
      f: { func: fn.name },
      Tin: { listType: ["string", ...resources, ...(strings > 1 ? ["string" as const] : [])] },
      Tout: { listType: ["string"] },
      _output_shapes: { listShape: [[]] },
      _read_only_resource_inputs: { listI: [] },
      _collective_manager_ids: { listI: [] },
    },
  };
}
