/**
 * The save and restore functions a SavedModel's `saver_def` points at, as `tf.saved_model.save`
 * traces them (`_traced_save`, `_traced_restore`): what the C++ loader (TF Serving) and the TF1
 * session loader run to fill the graph's variables from `variables/`, and to write them back.
 *
 * - save(file_prefix, <variable handles>, object_graph): reads every variable and writes them with
 *   the serialized TrackableObjectGraph as one shard (`<prefix>_temp/part-00000-of-00001`, or
 *   `<prefix>.part` on s3), then MergeV2Checkpoints renames it to `<prefix>`; returns file_prefix.
 * - restore(file_prefix, <variable handles>): RestoreV2 of every checkpoint key, then one
 *   AssignVariableOp per variable; returns file_prefix once every assign has run.
 * Both run on the CPU, where TensorFlow keeps checkpoint I/O.
 */
import type { BuiltFunction } from "./functions.ts";
import { tensorValue } from "./lower.ts";
import type { VariableLeaf } from "./object_graph.ts";
import { functionDef, type InputArg, type NodeSpec, type TensorValue } from "./tf_protos.ts";

/** The checkpoint key of the serialized TrackableObjectGraph (trackable_utils.OBJECT_GRAPH_PROTO_KEY). */
export const OBJECT_GRAPH_KEY = "_CHECKPOINTABLE_OBJECT_GRAPH";

const CPU = "/device:CPU:0";
const utf8 = new TextEncoder();

const strings = (values: readonly string[], shape: readonly number[] = [values.length]): TensorValue =>
  tensorValue(values.map((v) => utf8.encode(v)), shape, "string");
const konst = (name: string, tensor: TensorValue, device = CPU): NodeSpec => ({
  name,
  op: "Const",
  inputs: [],
  device,
  attrs: { value: { tensor }, dtype: { type: tensor.dtype } },
});

function resourceArgs(variables: readonly VariableLeaf[], prefix: string): InputArg[] {
  return variables.map((v, i) => ({
    name: `${prefix}_${i}`,
    dtype: "resource",
    handle: { dtype: v.dtype, shape: v.shape },
    shape: [],
    userName: v.path,
  }));
}

const filePrefix: InputArg = { name: "file_prefix", dtype: "string", shape: [], userName: "file_prefix" };

/** `_traced_save`: the function behind saver_def.save_tensor_name. */
export function buildSaveFunction(
  variables: readonly VariableLeaf[],
  keys: readonly string[],
  name: string,
): BuiltFunction {
  const resources = resourceArgs(variables, "resource");
  const nodes: NodeSpec[] = [
    {
      name: "StaticRegexFullMatch",
      op: "StaticRegexFullMatch",
      inputs: ["file_prefix"],
      device: "/device:CPU:*",
      attrs: { pattern: { s: "^s3://.*" } },
    },
    konst("Const", strings([".part"], []), "/device:CPU:*"),
    konst("Const_1", strings(["_temp/part"], []), "/device:CPU:*"),
    {
      name: "Select",
      op: "Select",
      inputs: ["StaticRegexFullMatch:output:0", "Const:output:0", "Const_1:output:0"],
      device: "/device:CPU:*",
      attrs: { T: { type: "string" } },
    },
    {
      name: "StringJoin",
      op: "StringJoin",
      inputs: ["file_prefix", "Select:output:0"],
      device: "/device:CPU:*",
      attrs: { N: { i: 2 } },
    },
    ...variables.map((v, i): NodeSpec => ({
      name: `Read_${i}/ReadVariableOp`,
      op: "ReadVariableOp",
      inputs: [resources[i].name],
      device: CPU,
      attrs: { dtype: { type: v.dtype } },
    })),
    konst("num_shards", tensorValue([1], [], "int32")),
    konst("ShardedFilename/shard", tensorValue([0], [], "int32")),
    {
      name: "ShardedFilename",
      op: "ShardedFilename",
      inputs: ["StringJoin:output:0", "ShardedFilename/shard:output:0", "num_shards:output:0"],
      device: CPU,
      attrs: {},
    },
    konst("SaveV2/tensor_names", strings([...keys, OBJECT_GRAPH_KEY])),
    konst("SaveV2/shape_and_slices", strings([...keys, OBJECT_GRAPH_KEY].map(() => ""))),
    {
      name: "SaveV2",
      op: "SaveV2",
      inputs: [
        "ShardedFilename:filename:0",
        "SaveV2/tensor_names:output:0",
        "SaveV2/shape_and_slices:output:0",
        ...variables.map((_, i) => `Read_${i}/ReadVariableOp:value:0`),
        "object_graph",
      ],
      device: CPU,
      attrs: { dtypes: { listType: [...variables.map((v) => v.dtype), "string"] } },
    },
    {
      name: "MergeV2Checkpoints/checkpoint_prefixes",
      op: "Pack",
      inputs: ["ShardedFilename:filename:0", "^SaveV2"],
      device: CPU,
      attrs: { N: { i: 1 }, T: { type: "string" } },
    },
    {
      name: "MergeV2Checkpoints",
      op: "MergeV2Checkpoints",
      inputs: ["MergeV2Checkpoints/checkpoint_prefixes:output:0", "file_prefix"],
      device: CPU,
      attrs: {},
    },
    {
      name: "Identity",
      op: "Identity",
      inputs: ["file_prefix", "^MergeV2Checkpoints"],
      device: CPU,
      attrs: { T: { type: "string" } },
    },
  ];
  const def = functionDef({
    name,
    inputs: [filePrefix, ...resources, {
      name: "object_graph",
      dtype: "string",
      shape: [],
      userName: "Const",
    }],
    outputs: [{ name: "identity", dtype: "string" }],
    nodes,
    ret: { identity: "Identity:output:0" },
    isStateful: true,
    controlOutputs: ["MergeV2Checkpoints", ...variables.map((_, i) => `Read_${i}/ReadVariableOp`)],
  });
  return {
    def,
    nodeCount: nodes.length,
    concrete: { name, inputs: [], outputs: [], boundVariables: variables.map((v) => v.path) },
  };
}

/** `_traced_restore`: the function behind saver_def.restore_op_name. */
export function buildRestoreFunction(
  variables: readonly VariableLeaf[],
  keys: readonly string[],
  name: string,
): BuiltFunction {
  const resources = resourceArgs(variables, "resource");
  const assigns = variables.map((_, i) => `AssignVariableOp_${i}`);
  const nodes: NodeSpec[] = [
    konst("RestoreV2/tensor_names", strings([...keys, OBJECT_GRAPH_KEY])),
    konst("RestoreV2/shape_and_slices", strings([...keys, OBJECT_GRAPH_KEY].map(() => ""))),
    {
      name: "RestoreV2",
      op: "RestoreV2",
      inputs: ["file_prefix", "RestoreV2/tensor_names:output:0", "RestoreV2/shape_and_slices:output:0"],
      device: CPU,
      attrs: { dtypes: { listType: [...variables.map((v) => v.dtype), "string"] } },
    },
    ...variables.flatMap((v, i): NodeSpec[] => [
      {
        name: `Identity_${i}`,
        op: "Identity",
        inputs: [`RestoreV2:tensors:${i}`],
        device: CPU,
        attrs: { T: { type: v.dtype } },
      },
      {
        name: assigns[i],
        op: "AssignVariableOp",
        inputs: [resources[i].name, `Identity_${i}:output:0`],
        device: CPU,
        attrs: { dtype: { type: v.dtype } },
      },
    ]),
    {
      name: "Identity",
      op: "Identity",
      inputs: ["file_prefix", ...assigns.map((a) => `^${a}`)],
      device: CPU,
      attrs: { T: { type: "string" } },
    },
  ];
  const def = functionDef({
    name,
    inputs: [filePrefix, ...resources],
    outputs: [{ name: "identity", dtype: "string" }],
    nodes,
    ret: { identity: "Identity:output:0" },
    isStateful: true,
    controlOutputs: assigns,
  });
  return {
    def,
    nodeCount: nodes.length,
    concrete: { name, inputs: [], outputs: [], boundVariables: variables.map((v) => v.path) },
  };
}
