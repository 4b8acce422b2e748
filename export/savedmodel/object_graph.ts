/**
 * The TF2 object graph of a SavedModel (saved_object_graph.proto) and the matching checkpoint
 * object graph (trackable_object_graph.proto) that `variables/` carries under the key
 * `_CHECKPOINTABLE_OBJECT_GRAPH`. Layout, as `tf.saved_model.save` writes it for an AutoTrackable
 * with these attributes:
 *
 *   root ─ params ─ video_encoder ─ blocks ─ 3 ─ attn ─ q ─ w   (variables, one node per param leaf)
 *        ├ trainable_variables, variables                       (list wrappers of the same variables)
 *        ├ encode, forward, init, loss                          (bare concrete functions)
 *        └ signatures {serving_default, encode, forward, loss}  (signature_map of the signature wrappers)
 *
 * Node ids are breadth-first from the root, as TensorFlow numbers them, and both graphs share them.
 * Checkpoint keys are `params/<param path>/.ATTRIBUTES/VARIABLE_VALUE`, so the restored variable
 * of `video_encoder/blocks/3/attn/q/w` is `m.params.video_encoder.blocks["3"].attn.q.w`.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type SavedObjectGraph,
  SavedObjectGraphSchema,
  type SavedObjectSchema,
} from "../../formats/protos/tensorflow/core/protobuf/saved_object_graph_pb.ts";
import {
  type TrackableObjectGraph,
  TrackableObjectGraphSchema,
} from "../../formats/protos/tensorflow/core/protobuf/trackable_object_graph_pb.ts";
import type { ConcreteFunction, TensorSpec } from "./functions.ts";
import { DT, shapeProto, type Structured, structuredValue, type TfDtype } from "./tf_protos.ts";

export type VariableLeaf = {
  readonly path: string;
  readonly shape: readonly number[];
  readonly dtype: TfDtype;
};

/** A bare concrete function node: the function and how many leading arguments may be positional. */
export type FunctionNode = {
  readonly fn: ConcreteFunction;
  readonly positional: number;
  /** Its inputs are named positional arguments (a tf.function's trace) rather than keyword-only. */
  readonly namedPositional?: boolean;
};

export type ObjectGraphSpec = {
  readonly variables: readonly VariableLeaf[];
  /** Root attribute name -> function (keyword-only, so every input may also be positional, as tf.function allows). */
  readonly functions: Readonly<Record<string, ConcreteFunction>>;
  /**
   * Signature key -> its wrapper, in the order m.signatures lists them; a signature with one input
   * accepts it positionally (signature_serialization.py).
   */
  readonly signatures: Readonly<Record<string, ConcreteFunction>>;
};

type Obj =
  | { readonly kind: "user"; readonly identifier: string; readonly children: [string, Obj][] }
  | { readonly kind: "variable"; readonly leaf: VariableLeaf }
  | { readonly kind: "function"; readonly node: FunctionNode }
  /** A root attribute: a tf.function with an input signature, so calls are checked by name. */
  | { readonly kind: "signed"; readonly fn: ConcreteFunction; readonly trace: Obj };

const VERSION = { producer: 1, minConsumer: 1 };

/** Escapes a local name as trackable_utils.escape_local_name does. */
export function escapeLocalName(name: string): string {
  return name.replace(/\./g, "..").replace(/\//g, ".S");
}

export function checkpointKey(path: string): string {
  return ["params", ...path.split("/")].map(escapeLocalName).join("/") + "/.ATTRIBUTES/VARIABLE_VALUE";
}

const user = (identifier: string, children: [string, Obj][] = []): Obj => ({
  kind: "user",
  identifier,
  children,
});

/** The object tree, then its nodes numbered breadth-first (a node reached twice keeps its first id). */
function numbered(spec: ObjectGraphSpec): { nodes: Obj[]; ids: Map<Obj, number> } {
  const params = user("_generic_user_object");
  const folders = new Map<string, Obj>([["", params]]);
  const leaves: Obj[] = spec.variables.map((leaf) => {
    const parts = leaf.path.split("/");
    let parent = params, prefix = "";
    for (const part of parts.slice(0, -1)) {
      prefix = prefix ? `${prefix}/${part}` : part;
      let folder = folders.get(prefix);
      if (!folder) {
        folder = user("_generic_user_object");
        folders.set(prefix, folder);
        (parent as Extract<Obj, { kind: "user" }>).children.push([part, folder]);
      }
      parent = folder;
    }
    const v: Obj = { kind: "variable", leaf };
    (parent as Extract<Obj, { kind: "user" }>).children.push([parts.at(-1)!, v]);
    return v;
  });
  const list = () => user("trackable_list_wrapper", leaves.map((v, i) => [String(i), v]));
  const fn = (f: ConcreteFunction, positional: number): Obj => ({
    kind: "function",
    node: { fn: f, positional },
  });
  // A tf.function tracks its one concrete function as child `trace_0`, as TensorFlow saves it.
  const functions = Object.keys(spec.functions).sort().map((k) => {
    const f = spec.functions[k];
    const trace: Obj = {
      kind: "function",
      node: { fn: f, positional: f.inputs.length, namedPositional: true },
    };
    return [k, { kind: "signed", fn: f, trace }] as [string, Obj];
  });
  const signatures = Object.keys(spec.signatures).map((k) => {
    const w = spec.signatures[k];
    return [k, fn(w, w.inputs.length === 1 ? 1 : 0)] as [string, Obj];
  });
  const root = user("_generic_user_object", [
    ["params", params],
    ["trainable_variables", list()],
    ["variables", list()],
    ...functions,
    ["signatures", user("signature_map", signatures)],
  ]);
  const nodes: Obj[] = [];
  const ids = new Map<Obj, number>();
  const queue: Obj[] = [root];
  ids.set(root, 0);
  for (let at = 0; at < queue.length; at++) {
    const o = queue[at];
    nodes.push(o);
    const children = o.kind === "user"
      ? o.children
      : o.kind === "signed"
      ? [["trace_0", o.trace] as const]
      : [];
    for (const [, c] of children) {
      if (!ids.has(c)) {
        ids.set(c, queue.length);
        queue.push(c);
      }
    }
  }
  return { nodes, ids };
}

const specOf = (t: TensorSpec): Structured => ({
  kind: "spec",
  name: t.name,
  shape: t.shape,
  dtype: t.dtype,
});

/**
 * inspect.FullArgSpec as function_serialization.py records it: of a keyword-only Python function, or
 * (`positional`) of one whose arguments are all positional-or-keyword, as a tf.function with an
 * input signature has them.
 */
function fullArgSpec(keywords: readonly string[], positional = false): Structured {
  const none: Structured = { kind: "none" };
  const names = (ks: readonly string[]): Structured => ({
    kind: "list",
    values: ks.map((k) => ({ kind: "string", value: k })),
  });
  if (positional) {
    return {
      kind: "namedTuple",
      name: "FullArgSpec",
      fields: [
        ["args", names(keywords)],
        ["varargs", none],
        ["varkw", none],
        ["defaults", none],
        ["kwonlyargs", { kind: "list", values: [] }],
        ["kwonlydefaults", none],
        ["annotations", { kind: "dict", fields: {} }],
      ],
    };
  }
  return {
    kind: "namedTuple",
    name: "FullArgSpec",
    fields: [
      ["args", { kind: "list", values: [] }],
      ["varargs", none],
      ["varkw", none],
      ["defaults", none],
      ["kwonlyargs", { kind: "list", values: keywords.map((k) => ({ kind: "string", value: k })) }],
      ["kwonlydefaults", none],
      ["annotations", { kind: "dict", fields: {} }],
    ],
  };
}

/** SavedObjectGraph (MetaGraphDef.object_graph_def). */
export function savedObjectGraph(spec: ObjectGraphSpec): SavedObjectGraph {
  const { nodes, ids } = numbered(spec);
  const variableIds = new Map<string, number>();
  for (const o of nodes) if (o.kind === "variable") variableIds.set(o.leaf.path, ids.get(o)!);
  const functions = new Map<string, ConcreteFunction>();
  const signed = new Set<string>();
  const objects = nodes.map((o): MessageInitShape<typeof SavedObjectSchema> => {
    switch (o.kind) {
      case "user":
        return {
          children: o.children.map(([localName, c]) => ({ nodeId: ids.get(c)!, localName })),
          kind: { case: "userObject", value: { identifier: o.identifier, version: VERSION } },
        };
      case "variable":
        return {
          kind: {
            case: "variable",
            value: {
              dtype: DT[o.leaf.dtype],
              shape: shapeProto(o.leaf.shape),
              trainable: true,
              name: o.leaf.path,
            },
          },
        };
      case "signed": {
        // Like a tf.function(input_signature=...) attribute: TensorFlow binds and checks every call
        // against the named specs, so a wrong dtype or shape is refused naming the input.
        functions.set(o.fn.name, o.fn);
        signed.add(o.fn.name);
        const keywords = o.fn.inputs.map((i) => i.name);
        return {
          children: [{ nodeId: ids.get(o.trace)!, localName: "trace_0" }],
          dependencies: [{ nodeId: ids.get(o.trace)!, localName: "trace_0" }],
          kind: {
            case: "function",
            value: {
              concreteFunctions: [o.fn.name],
              functionSpec: {
                fullargspec: structuredValue(fullArgSpec(keywords, true)),
                isMethod: false,
                inputSignature: structuredValue({ kind: "tuple", values: o.fn.inputs.map(specOf) }),
              },
            },
          },
        };
      }
      case "function": {
        const { fn, positional, namedPositional } = o.node;
        functions.set(fn.name, fn);
        const keywords = fn.inputs.map((i) => i.name);
        return {
          kind: {
            case: "bareConcreteFunction",
            value: {
              concreteFunctionName: fn.name,
              argumentKeywords: keywords,
              allowedPositionalArguments: BigInt(positional),
              functionSpec: {
                fullargspec: structuredValue(fullArgSpec(keywords, namedPositional)),
                inputSignature: structuredValue({ kind: "none" }),
              },
            },
          },
        };
      }
    }
  });
  const concreteFunctions = Object.fromEntries(
    [...functions.keys()].sort().map((name) => {
      const fn = functions.get(name)!;
      const inputs: Structured = signed.has(name)
        ? {
          kind: "tuple",
          values: [{ kind: "tuple", values: fn.inputs.map(specOf) }, { kind: "dict", fields: {} }],
        }
        : {
          kind: "tuple",
          values: [{ kind: "tuple", values: [] }, {
            kind: "dict",
            fields: Object.fromEntries(fn.inputs.map((i) => [i.name, specOf(i)])),
          }],
        };
      const outputs: Structured = {
        kind: "dict",
        fields: Object.fromEntries(fn.outputs.map((o) => [o.name, specOf(o)])),
      };
      return [name, {
        boundInputs: fn.boundVariables.map((p) => variableIds.get(p)!),
        canonicalizedInputSignature: structuredValue(inputs),
        outputSignature: structuredValue(outputs),
      }];
    }),
  );
  return create(SavedObjectGraphSchema, { nodes: objects, concreteFunctions });
}

/**
 * TrackableObjectGraph for `_CHECKPOINTABLE_OBJECT_GRAPH`: the same nodes and children, each variable
 * with its VARIABLE_VALUE attribute, and `has_checkpoint_values` on every node whose subtree holds one.
 */
export function checkpointObjectGraph(spec: ObjectGraphSpec): TrackableObjectGraph {
  const { nodes, ids } = numbered(spec);
  const holds = new Map<Obj, boolean>();
  const hasValues = (o: Obj): boolean => {
    if (!holds.has(o)) {
      holds.set(
        o,
        o.kind === "variable" || (o.kind === "user" && o.children.some(([, c]) => hasValues(c))),
      );
    }
    return holds.get(o)!;
  };
  return create(TrackableObjectGraphSchema, {
    nodes: nodes.map((o) => ({
      children: o.kind === "user"
        ? o.children.map(([localName, c]) => ({ nodeId: ids.get(c)!, localName }))
        : o.kind === "signed"
        ? [{ nodeId: ids.get(o.trace)!, localName: "trace_0" }]
        : [],
      attributes: o.kind === "variable"
        ? [{ name: "VARIABLE_VALUE", fullName: o.leaf.path, checkpointKey: checkpointKey(o.leaf.path) }]
        : [],
      hasCheckpointValues: hasValues(o),
    })),
  });
}
