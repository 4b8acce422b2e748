/**
 * Signature wrappers: what `tf.saved_model.save(..., signatures=...)` puts between a SignatureDef and
 * the function it serves. A wrapper takes the same keyword inputs and captured variables as the
 * function, calls it, and returns its outputs by name; `m.signatures[key]` is the wrapper, and the
 * graph's call node for the key (meta_graph.ts) calls the wrapper too.
 *
 * Nothing here depends on the inputs' dtypes or names: a signature may take any dtype TensorFlow
 * has (uint32 PRNG keys included) under any keyword.
 */
import type { BuiltFunction, ConcreteFunction } from "./functions.ts";
import type { VariableLeaf } from "./object_graph.ts";
import { functionDef, type InputArg, type NodeSpec, type TfAttr } from "./tf_protos.ts";

/**
 * The attrs of a call to `fn` with `resources` captured variables: its argument and result dtypes,
 * that every captured variable is only read, and its result shapes. A call to a function that
 * touches no variable is a PartitionedCall, as TensorFlow emits for stateless functions.
 */
export function callNode(
  name: string,
  fn: ConcreteFunction,
  inputs: readonly string[],
  opts: { readonly device?: string } = {},
): NodeSpec {
  const n = fn.inputs.length, r = fn.boundVariables.length;
  const attrs: Record<string, TfAttr> = {
    f: { func: fn.name },
    Tin: {
      listType: [...fn.inputs.map((i) => i.dtype), ...fn.boundVariables.map(() => "resource" as const)],
    },
    Tout: { listType: fn.outputs.map((o) => o.dtype) },
    _output_shapes: { listShape: fn.outputs.map((o) => o.shape) },
    _read_only_resource_inputs: { listI: Array.from({ length: r }, (_, i) => n + i) },
    _collective_manager_ids: { listI: [] },
  };
  return {
    name,
    op: r > 0 ? "StatefulPartitionedCall" : "PartitionedCall",
    inputs,
    device: opts.device,
    attrs,
  };
}

/** `__inference_signature_wrapper_*`: calls `inner` and returns its outputs, one Identity each. */
export function buildSignatureWrapper(
  inner: ConcreteFunction,
  name: string,
  variables: ReadonlyMap<string, VariableLeaf>,
): BuiltFunction {
  const resources: InputArg[] = inner.boundVariables.map((path, i) => {
    const v = variables.get(path)!;
    return {
      name: `resource_${i}`,
      dtype: "resource",
      handle: { dtype: v.dtype, shape: v.shape },
      shape: [],
      userName: path,
    };
  });
  const inputs: InputArg[] = inner.inputs.map((i) => ({ ...i, userName: i.name }));
  const call = callNode("call", inner, [...inputs, ...resources].map((a) => a.name));
  const nodes: NodeSpec[] = [
    call,
    ...inner.outputs.map((o, i): NodeSpec => ({
      name: `output_${i}/identity`,
      op: "Identity",
      inputs: [`call:output:${i}`],
      attrs: { T: { type: o.dtype } },
    })),
  ];
  const stateful = resources.length > 0;
  const def = functionDef({
    name,
    inputs: [...inputs, ...resources],
    outputs: inner.outputs.map((o, i) => ({ name: `output_${i}`, dtype: o.dtype })),
    nodes,
    ret: Object.fromEntries(inner.outputs.map((_, i) => [`output_${i}`, `output_${i}/identity:output:0`])),
    isStateful: stateful,
    controlOutputs: stateful ? ["call"] : [],
  });
  return { def, nodeCount: nodes.length, concrete: { ...inner, name } };
}
