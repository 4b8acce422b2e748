/**
 * tfjs graph model export: `model.json` (a GraphDef in proto3 JSON plus a weights manifest) and one
 * weight shard, which `@tensorflow/tfjs-converter`'s `loadGraphModel` runs. Params are baked in as
 * Const nodes (their values in the shard, found by node name), inputs become Placeholders, and each
 * output is an Identity node named by its key. Ops come from the same kernel -> TF table as the
 * SavedModel writer; the graph is float32 (tfjs has no bfloat16).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { type Graph, pruneGraph, type TraceNode } from "../transforms/trace.ts";
import { type MapLeaves, type ShapeDtype, type Tree, treeFlatten } from "../transforms/tree.ts";
import { type ExportError, ExportSpecError, UnsupportedOpError } from "./savedmodel/errors.ts";
import { traceSignature, writeAtomically } from "./savedmodel/export.ts";
import { lowerGraph, tensorValue, type TfNode, type TfRef } from "./savedmodel/lower.ts";
import { DT_NAME, type TensorValue, type TfAttr, type TfDtype } from "./savedmodel/tf_protos.ts";

export type GraphModelSpec<P> = {
  /** Tensors: their values become the model's weights. */
  readonly params: P;
  readonly fn: (params: P, inputs: Record<string, tf.Tensor>) => unknown;
  readonly inputs: Readonly<Record<string, ShapeDtype>>;
};

export type GraphModelArtifacts = {
  readonly modelJSON: Record<string, unknown>;
  readonly weightData: Uint8Array;
};

const SHARD = "group1-shard1of1.bin";
// tfjs-converter looks up op support by TF op name; these are the ones we emit that it lacks.
const TFJS_MISSING = new Set(["Acosh", "Asinh", "Atanh"]);

const shapeJson = (shape: readonly number[] | null) =>
  shape === null ? { unknownRank: true } : { dim: shape.map((d) => ({ size: String(d) })) };
const base64 = (s: string | Uint8Array) => btoa(typeof s === "string" ? s : String.fromCharCode(...s));

function attrJson(a: TfAttr): unknown {
  if ("type" in a) return { type: DT_NAME[a.type] };
  if ("i" in a) return { i: String(a.i) };
  if ("f" in a) return { f: a.f };
  if ("b" in a) return { b: a.b };
  if ("s" in a) return { s: base64(a.s) };
  if ("shape" in a) return { shape: shapeJson(a.shape) };
  if ("tensor" in a) {
    return { tensor: { dtype: DT_NAME[a.tensor.dtype], tensorShape: shapeJson(a.tensor.shape) } };
  }
  if ("listI" in a) return { list: { i: a.listI.map(String) } };
  if ("listType" in a) return { list: { type: a.listType.map((t) => DT_NAME[t]) } };
  if ("listShape" in a) return { list: { shape: a.listShape.map(shapeJson) } };
  return { func: { name: a.func } };
}

const graphRef = (r: TfRef) => ("arg" in r ? r.arg : r.flat === 0 ? r.node : `${r.node}:${r.flat}`);

function weightDtype(d: TfDtype): "float32" | "int32" | "bool" {
  if (d === "float32" || d === "int32" || d === "bool") return d;
  throw new ExportSpecError({ reason: `a ${d} constant cannot be a tfjs graph model weight` });
}

/** Builds model.json and the weight shard in memory (what `tf.io.fromMemory` / `loadGraphModelSync` take). */
export function graphModelArtifacts(
  traced: Graph,
  params: { readonly path: string; readonly value: tf.Tensor }[],
): GraphModelArtifacts {
  const graph = pruneGraph(traced);
  const paramOf = new Map<string, unknown>(params.map((p) => [p.path, p.value]));
  const nodes: TfNode[] = [];
  const argRef = (a: Extract<TraceNode, { kind: "arg" }>): TfRef => {
    if (a.arg === 1) {
      nodes.push({
        name: a.path,
        op: "Placeholder",
        inputs: [],
        attrs: { dtype: { type: a.out.dtype as TfDtype }, shape: { shape: a.out.shape } },
        outArgs: [["output", 1]],
      });
      return { node: a.path, outArg: "output", index: 0, flat: 0 };
    }
    const t = paramOf.get(a.path);
    if (!(t instanceof tf.Tensor)) {
      throw new ExportSpecError({
        reason: `param '${a.path}' has no tensor value; a graph model needs the weights`,
      });
    }
    const name = `params/${a.path}`;
    const value = tensorValue(t.dataSync() as Float32Array | Int32Array, t.shape, t.dtype as TfDtype);
    nodes.push({
      name,
      op: "Const",
      inputs: [],
      attrs: { value: { tensor: value }, dtype: { type: value.dtype } },
      outArgs: [["output", 1]],
    });
    return { node: name, outArg: "output", index: 0, flat: 0 };
  };
  const lowered = lowerGraph(graph, argRef, {
    taken: new Set(
      graph.nodes.flatMap((n) => (n.kind === "arg" ? [n.arg === 1 ? n.path : `params/${n.path}`] : [])),
    ),
  });
  const outputs = graph.outputs.map((o) => ({ key: o.path || "output", ref: lowered.refs.get(o.value)! }));
  const tail: TfNode[] = outputs.map((o) => ({
    name: o.key,
    op: "Identity",
    inputs: [o.ref],
    attrs: {},
    outArgs: [["output", 1]],
  }));
  const all = [...nodes, ...lowered.nodes, ...tail];
  const missing = lowered.nodes.find((n) => TFJS_MISSING.has(n.op));
  if (missing) {
    throw new UnsupportedOpError({
      op: missing.op,
      layer: missing.name,
      source: "?",
      reason: "tfjs-converter has no executor for this TensorFlow op",
    });
  }

  const parts: Uint8Array[] = [];
  const weights: { name: string; shape: number[]; dtype: string }[] = [];
  for (const n of all) {
    if (n.op !== "Const") continue;
    const v = (n.attrs.value as { tensor: TensorValue }).tensor;
    weights.push({ name: n.name, shape: [...v.shape], dtype: weightDtype(v.dtype) });
    parts.push(v.content as Uint8Array);
  }
  const weightData = new Uint8Array(parts.reduce((s, p) => s + p.length, 0));
  parts.reduce((at, p) => (weightData.set(p, at), at + p.length), 0);
  const valueOf = new Map<number, { shape: readonly number[]; dtype: string }>();
  for (const n of graph.nodes) for (const o of n.kind === "op" ? n.outs : [n.out]) valueOf.set(o.id, o);
  const tensorInfo = (name: string, v: { shape: readonly number[]; dtype: string }) => ({
    name: `${name}:0`,
    dtype: DT_NAME[v.dtype as TfDtype],
    tensorShape: shapeJson(v.shape),
  });
  const modelJSON = {
    format: "graph-model",
    generatedBy: "mirasol-ts",
    convertedBy: "mirasol-ts export/graphmodel.ts",
    modelTopology: {
      node: all.map((n) => ({
        name: n.name,
        op: n.op,
        ...(n.inputs.length ? { input: n.inputs.map(graphRef) } : {}),
        attr: Object.fromEntries(Object.entries(n.attrs).map(([k, a]) => [k, attrJson(a)])),
      })),
      versions: { producer: 1994 },
    },
    signature: {
      inputs: Object.fromEntries(
        graph.nodes.flatMap((
          n,
        ) => (n.kind === "arg" && n.arg === 1 ? [[n.path, tensorInfo(n.path, n.out)]] : [])),
      ),
      outputs: Object.fromEntries(
        graph.outputs.map((o) => [o.path || "output", tensorInfo(o.path || "output", valueOf.get(o.value)!)]),
      ),
    },
    weightsManifest: [{ paths: [SHARD], weights }],
  };
  return { modelJSON, weightData };
}

/** Traces `spec.fn` and writes `dir/model.json` + `dir/group1-shard1of1.bin` atomically. */
export function exportGraphModel<P>(
  spec: GraphModelSpec<P>,
  dir: string,
  opts: { readonly overwrite?: boolean } = {},
): Effect.Effect<
  { readonly dir: string; readonly nodes: number; readonly weightBytes: number },
  ExportError
> {
  return Effect.gen(function* () {
    const graph = yield* traceSignature("graphmodel", spec.params as P | MapLeaves<P, ShapeDtype>, {
      fn: spec.fn,
      inputs: spec.inputs,
    });
    const flat = treeFlatten(spec.params as Tree<tf.Tensor>);
    const params = flat.paths.map((path, i) => ({ path, value: flat.leaves[i] as tf.Tensor }));
    const artifacts = yield* Effect.try({
      try: () => graphModelArtifacts(graph, params),
      catch: (
        e,
      ) => (e instanceof UnsupportedOpError || e instanceof ExportSpecError
        ? e
        : new ExportSpecError({ reason: String(e) })),
    });
    yield* writeAtomically(dir, opts.overwrite ?? false, async (tmp) => {
      await Deno.writeTextFile(`${tmp}/model.json`, JSON.stringify(artifacts.modelJSON));
      await Deno.writeFile(`${tmp}/${SHARD}`, artifacts.weightData);
    });
    const nodes = (artifacts.modelJSON.modelTopology as { node: unknown[] }).node.length;
    return { dir, nodes, weightBytes: artifacts.weightData.length };
  });
}

/** An IOHandler that reads an exported graph model from a folder (tfjs' file:// handler needs tfjs-node). */
export function graphModelFromDir(dir: string): tf.io.IOHandler {
  return {
    load: async () => {
      const json = JSON.parse(await Deno.readTextFile(`${dir}/model.json`));
      const manifest = json.weightsManifest as { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
      const buffers = await Promise.all(
        manifest.flatMap((g) => g.paths.map((p) => Deno.readFile(`${dir}/${p}`))),
      );
      const weightData = new Uint8Array(buffers.reduce((s, b) => s + b.length, 0));
      buffers.reduce((at, b) => (weightData.set(b, at), at + b.length), 0);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        weightSpecs: manifest.flatMap((g) => g.weights),
        weightData: weightData.buffer,
      };
    },
  };
}
