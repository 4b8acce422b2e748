/**
 * The TF2 object graph of a SavedModel (saved_object_graph.proto) and the matching checkpoint
 * object graph (trackable_object_graph.proto) that `variables/` must carry under the key
 * `_CHECKPOINTABLE_OBJECT_GRAPH`. Layout:
 *
 *   root ─ params ─ video_encoder ─ blocks ─ 3 ─ attn ─ q ─ w   (variables, one node per param leaf)
 *        ├ forward, loss, encode, init                           (bare concrete functions)
 *        ├ signatures {forward, loss, encode}                    (signature_map: m.signatures[...])
 *        └ trainable_variables, variables                        (list wrappers)
 *
 * Checkpoint keys are `params/<param path>/.ATTRIBUTES/VARIABLE_VALUE`, so the restored variable
 * of `video_encoder/blocks/3/attn/q/w` is `m.params.video_encoder.blocks["3"].attn.q.w`.
 */
import * as pb from "../../formats/proto.ts";
import { shapeProto, type Structured, structuredValue, type TfDtype, DT } from "./tf_protos.ts";

export type VariableLeaf = { readonly path: string; readonly shape: readonly number[]; readonly dtype: TfDtype };

export type ConcreteFunction = {
  readonly name: string; // the FunctionDef's name
  readonly argumentKeywords: readonly string[];
  readonly boundVariables: readonly string[]; // param paths, in the order of the resource args
  readonly inputSignature: Structured;
  readonly outputSignature: Structured;
};

export type ObjectGraphSpec = {
  readonly variables: readonly VariableLeaf[];
  /** Root attribute name -> concrete function; `signatures` lists which are also in m.signatures. */
  readonly functions: Readonly<Record<string, ConcreteFunction>>;
  readonly signatures: readonly string[];
};

type ObjNode = { kind: "user"; identifier: string; children: [number, string][] } | { kind: "variable"; leaf: VariableLeaf } | { kind: "function"; fn: ConcreteFunction };

const version = pb.message(pb.varint(1, 1), pb.varint(2, 1)); // VersionDef{producer 1, min_consumer 1}

/** Escapes a local name as trackable_utils.escape_local_name does. */
export function escapeLocalName(name: string): string {
  return name.replace(/\./g, "..").replace(/\//g, ".S");
}

export function checkpointKey(path: string): string {
  return ["params", ...path.split("/")].map(escapeLocalName).join("/") + "/.ATTRIBUTES/VARIABLE_VALUE";
}

/** Builds the param tree as nested user objects; returns the nodes and each variable's node id. */
function buildNodes(spec: ObjectGraphSpec): { nodes: ObjNode[]; variableIds: Map<string, number>; paramsRoot: number } {
  const nodes: ObjNode[] = [{ kind: "user", identifier: "_generic_user_object", children: [] }];
  const variableIds = new Map<string, number>();
  const add = (n: ObjNode) => nodes.push(n) - 1;
  const paramsRoot = add({ kind: "user", identifier: "_generic_user_object", children: [] });
  (nodes[0] as { children: [number, string][] }).children.push([paramsRoot, "params"]);
  const folders = new Map<string, number>([["", paramsRoot]]);
  for (const leaf of spec.variables) {
    const parts = leaf.path.split("/");
    let parent = paramsRoot, prefix = "";
    for (const part of parts.slice(0, -1)) {
      prefix = prefix ? `${prefix}/${part}` : part;
      let id = folders.get(prefix);
      if (id === undefined) {
        id = add({ kind: "user", identifier: "_generic_user_object", children: [] });
        folders.set(prefix, id);
        (nodes[parent] as { children: [number, string][] }).children.push([id, part]);
      }
      parent = id;
    }
    const id = add({ kind: "variable", leaf });
    variableIds.set(leaf.path, id);
    (nodes[parent] as { children: [number, string][] }).children.push([id, parts.at(-1)!]);
  }
  const root = nodes[0] as { children: [number, string][] };
  const fnIds = new Map<string, number>();
  for (const [attr, fn] of Object.entries(spec.functions)) {
    const id = add({ kind: "function", fn });
    fnIds.set(attr, id);
    root.children.push([id, attr]);
  }
  const sigs = add({ kind: "user", identifier: "signature_map", children: spec.signatures.map((s) => [fnIds.get(s)!, s] as [number, string]) });
  root.children.push([sigs, "signatures"]);
  const list = add({ kind: "user", identifier: "trackable_list_wrapper", children: spec.variables.map((v, i) => [variableIds.get(v.path)!, String(i)] as [number, string]) });
  root.children.push([list, "trainable_variables"], [list, "variables"]);
  return { nodes, variableIds, paramsRoot };
}

function children(cs: readonly [number, string][]): Uint8Array[] {
  return cs.map(([id, name]) => pb.bytes(1, pb.message(pb.varintIfSet(1, id), pb.string(2, name))));
}

/** SavedObjectGraph bytes (MetaGraphDef.object_graph_def). */
export function savedObjectGraph(spec: ObjectGraphSpec): Uint8Array {
  const { nodes, variableIds } = buildNodes(spec);
  const encoded = nodes.map((n) => {
    switch (n.kind) {
      case "user":
        return pb.message(children(n.children), pb.bytes(4, pb.message(pb.string(1, n.identifier), pb.bytes(2, version))));
      case "variable":
        return pb.bytes(7, pb.message(pb.varint(1, DT[n.leaf.dtype]), pb.bytes(2, shapeProto(n.leaf.shape)), pb.bool(3, true), pb.string(6, n.leaf.path)));
      case "function":
        return pb.bytes(8, pb.message(pb.string(1, n.fn.name), n.fn.argumentKeywords.map((k) => pb.string(2, k))));
    }
  });
  const concrete = Object.values(spec.functions).map((fn) =>
    pb.bytes(
      2,
      pb.message(
        pb.string(1, fn.name),
        pb.bytes(
          2,
          pb.message(
            pb.packedVarints(2, fn.boundVariables.map((p) => variableIds.get(p)!)),
            pb.bytes(3, structuredValue(fn.inputSignature)),
            pb.bytes(4, structuredValue(fn.outputSignature)),
          ),
        ),
      ),
    )
  );
  return pb.message(encoded.map((n) => pb.bytes(1, n)), concrete);
}

/** TrackableObjectGraph bytes for `_CHECKPOINTABLE_OBJECT_GRAPH`: root -> params -> ... -> variables. */
export function checkpointObjectGraph(spec: ObjectGraphSpec): Uint8Array {
  const { nodes } = buildNodes(spec);
  // Keep only root and the params subtree, renumbered densely.
  const keep: number[] = [];
  const paramsOnly = (id: number) => (id === 0 ? [(nodes[0] as { children: [number, string][] }).children[0]] : (nodes[id] as { children: [number, string][] }).children);
  const walk = (id: number) => {
    keep.push(id);
    const n = nodes[id];
    if (n.kind === "user") for (const [c] of paramsOnly(id)) walk(c);
  };
  walk(0);
  const renumber = new Map(keep.map((id, i) => [id, i]));
  const encoded = keep.map((id) => {
    const n = nodes[id];
    if (n.kind === "variable") {
      const key = checkpointKey(n.leaf.path);
      return pb.message(pb.bytes(2, pb.message(pb.string(1, "VARIABLE_VALUE"), pb.string(2, n.leaf.path), pb.string(3, key))));
    }
    return pb.message(children(paramsOnly(id).map(([c, name]) => [renumber.get(c)!, name] as [number, string])));
  });
  return pb.message(encoded.map((n) => pb.bytes(1, n)));
}
