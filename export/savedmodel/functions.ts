/**
 * FunctionDefs for a SavedModel: one per exported signature, from its traced graph, plus `init(seed)`
 * in `inputs` mode. Argument order follows TensorFlow's flattening of the concrete function's
 * structured signature: keyword inputs sorted by name, then (variables mode) one DT_RESOURCE argument
 * per captured variable, matched to `bound_inputs` by position.
 */
import type { FunctionDef } from "../../formats/protos/tensorflow/core/framework/function_pb.ts";
import { type Graph, pruneGraph, type TraceNode, type ValueId } from "../../transforms/trace.ts";
import { ExportSpecError } from "./errors.ts";
import { type ComputeDtype, lowerGraph, tensorValue, type TfNode, type TfRef } from "./lower.ts";
import {
  type ArgDef,
  functionDef,
  type InputArg,
  type NodeSpec,
  type TfDtype,
  tfDtype,
} from "./tf_protos.ts";

export type ParamMode = "variables" | "inputs";

/** How `init(seed)` creates one parameter in TensorFlow (stateless RNG, so XLA/TPU can run it). */
export type InitRule =
  | { readonly kind: "zeros" }
  | { readonly kind: "ones" }
  | { readonly kind: "normal"; readonly std: number; readonly mean?: number }
  | { readonly kind: "truncatedNormal"; readonly std: number }
  | { readonly kind: "uniform"; readonly min: number; readonly max: number };

/** A tensor's name, static shape and dtype (TensorSpec; also a SignatureDef's TensorInfo). */
export type TensorSpec = {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: TfDtype;
};

/** What the object graph, the signature wrappers and the graph's call nodes need to know of a function. */
export type ConcreteFunction = {
  readonly name: string; // the FunctionDef's name
  /** The keyword inputs in argument order (sorted by name), each a TensorSpec named by its keyword. */
  readonly inputs: readonly TensorSpec[];
  /** The outputs in the flat order of the returned dict (sorted by key), each named by its key. */
  readonly outputs: readonly TensorSpec[];
  /** Param paths of the captured variables, in the order of the resource arguments after the inputs. */
  readonly boundVariables: readonly string[];
};

export type BuiltFunction = {
  readonly def: FunctionDef;
  readonly concrete: ConcreteFunction;
  readonly nodeCount: number;
};

const ARG_NAME = /^[a-z][a-z0-9_]*$/;

/** The keyword name of a parameter in `inputs` mode: `video_encoder/blocks/3/w` -> `video_encoder__blocks__3__w`. */
export function paramArgName(path: string): string {
  const name = path.toLowerCase().replace(/\//g, "__").replace(/[^a-z0-9_]/g, "_");
  return /^[a-z]/.test(name) ? name : `p_${name}`;
}

export function functionRef(r: TfRef): string {
  return "arg" in r ? r.arg : `${r.node}:${r.outArg}:${r.index}`;
}

function encodeNodes(nodes: readonly TfNode[]): NodeSpec[] {
  return nodes.map((n) => ({ name: n.name, op: n.op, inputs: n.inputs.map(functionRef), attrs: n.attrs }));
}

function dtypeOf(d: string, where: string): TfDtype {
  const t = tfDtype(d);
  if (t && t !== "resource") return t;
  throw new ExportSpecError({ reason: `${where} has dtype ${d}, which TensorFlow export does not support` });
}

/**
 * One signature. `graph` was traced as f(params, inputs): argument 0's leaves are params (paths),
 * argument 1's are the named inputs.
 */
export function buildSignatureFunction(
  traced: Graph,
  opts: {
    readonly fnName: string;
    readonly paramMode: ParamMode;
    readonly computeDtype: ComputeDtype;
    /** Inputs and outputs holding PRNG key words: int32 when traced (tfjs has no uint32), uint32 here. */
    readonly words?: readonly string[];
  },
): BuiltFunction {
  const graph = pruneGraph(traced);
  const words = new Set(opts.words ?? []);
  const wordsOf = (name: string, dtype: string) => words.has(name) && dtype === "int32";
  const args = graph.nodes.filter((n): n is Extract<TraceNode, { kind: "arg" }> => n.kind === "arg");
  const used = new Set<ValueId>(graph.outputs.map((o) => o.value));
  for (const n of graph.nodes) if (n.kind === "op") { for (const i of n.inputs) used.add(i.value); }
  const inputs = args.filter((a) => a.arg === 1);
  const params = args.filter((a) => a.arg === 0);
  for (const a of inputs) {
    if (!ARG_NAME.test(a.path)) {
      throw new ExportSpecError({
        reason: `input '${a.path}' must be a flat name matching ${ARG_NAME} (a TensorFlow keyword argument)`,
      });
    }
  }
  const keyword = new Map<ValueId, string>(inputs.map((a) => [a.out.id, a.path]));
  if (opts.paramMode === "inputs") {
    for (const p of params) {
      const name = paramArgName(p.path);
      if ([...keyword.values()].includes(name)) {
        throw new ExportSpecError({
          reason: `param '${p.path}' and another input both become keyword '${name}'`,
        });
      }
      keyword.set(p.out.id, name);
    }
  }
  const keywordArgs = [...keyword.entries()].sort((a, b) => (a[1] < b[1] ? -1 : 1));
  const bound = opts.paramMode === "variables" ? params.filter((p) => used.has(p.out.id)) : [];
  const taken = new Set<string>();
  const reads: TfNode[] = bound.map((p, i) => {
    const name = `read/${p.path}`;
    taken.add(name);
    return {
      name,
      op: "ReadVariableOp",
      inputs: [{ arg: `resource_${i}` }],
      attrs: { dtype: { type: dtypeOf(p.out.dtype, p.path) } },
      outArgs: [["value", 1]],
    };
  });
  const readRef = new Map<ValueId, TfRef>(
    bound.map((p, i) => [p.out.id, { node: reads[i].name, outArg: "value", index: 0, flat: 0 }]),
  );
  // A key-words input arrives as uint32 and is bitcast to the int32 the traced graph computes with.
  const heads: TfNode[] = [];
  const argRef = (a: Extract<TraceNode, { kind: "arg" }>): TfRef => {
    const read = readRef.get(a.out.id);
    if (read) return read;
    const name = keyword.get(a.out.id)!;
    if (!wordsOf(name, a.out.dtype)) return { arg: name };
    // Checked first: a call through `signatures` skips the binding checks, and the words of a key of
    // another shape would otherwise be read silently.
    const checked = `${name}/ensure_shape`, node = `${name}/words`;
    taken.add(checked).add(node);
    heads.push({
      name: checked,
      op: "EnsureShape",
      inputs: [{ arg: name }],
      attrs: { T: { type: "uint32" }, shape: { shape: [...a.out.shape] } },
      outArgs: [["output", 1]],
    });
    heads.push({
      name: node,
      op: "Bitcast",
      inputs: [{ node: checked, outArg: "output", index: 0, flat: 0 }],
      attrs: { T: { type: "uint32" }, type: { type: "int32" } },
      outArgs: [["output", 1]],
    });
    return { node, outArg: "output", index: 0, flat: 0 };
  };
  const lowered = lowerGraph(graph, argRef, { computeDtype: opts.computeDtype, taken });

  const values = new Map<ValueId, { shape: readonly number[]; dtype: string }>();
  for (const n of graph.nodes) for (const o of n.kind === "op" ? n.outs : [n.out]) values.set(o.id, o);
  const outputs = [...graph.outputs].map((o) => ({ key: o.path || "output", value: o.value })).sort((
    a,
    b,
  ) => (a.key < b.key ? -1 : 1));
  const tail: TfNode[] = [];
  const ret: Record<string, string> = {};
  const outputArgs: ArgDef[] = [];
  outputs.forEach((o, i) => {
    const v = values.get(o.value)!;
    let dtype = dtypeOf(v.dtype, `output '${o.key}'`);
    let ref = lowered.refs.get(o.value)!;
    if (wordsOf(o.key, v.dtype)) {
      tail.push({
        name: `output_${i}/words`,
        op: "Bitcast",
        inputs: [ref],
        attrs: { T: { type: "int32" }, type: { type: "uint32" } },
        outArgs: [["output", 1]],
      });
      ref = { node: `output_${i}/words`, outArg: "output", index: 0, flat: 0 };
      dtype = "uint32";
    }
    if (dtype === "float32" && opts.computeDtype !== "float32") {
      tail.push({
        name: `output_${i}/cast`,
        op: "Cast",
        inputs: [ref],
        attrs: { SrcT: { type: opts.computeDtype }, DstT: { type: "float32" } },
        outArgs: [["y", 1]],
      });
      ref = { node: `output_${i}/cast`, outArg: "y", index: 0, flat: 0 };
    }
    tail.push({
      name: `output_${i}/identity`,
      op: "Identity",
      inputs: [ref],
      attrs: { T: { type: dtype } },
      outArgs: [["output", 1]],
    });
    ret[`output_${i}`] = `output_${i}/identity:output:0`;
    outputArgs.push({ name: `output_${i}`, dtype });
  });

  const spec = (name: string, id: ValueId): TensorSpec => ({
    name,
    shape: values.get(id)!.shape,
    dtype: wordsOf(name, values.get(id)!.dtype)
      ? "uint32"
      : dtypeOf(values.get(id)!.dtype, `input '${name}'`),
  });
  const inputSpecs = keywordArgs.map(([id, name]) => spec(name, id));
  const argDefs: InputArg[] = [
    ...inputSpecs.map((s) => ({ ...s, userName: s.name })),
    ...bound.map((p, i) => ({
      name: `resource_${i}`,
      dtype: "resource" as const,
      handle: { dtype: dtypeOf(p.out.dtype, p.path), shape: p.out.shape },
      shape: [],
      userName: p.path,
    })),
  ];
  const def = functionDef({
    name: opts.fnName,
    inputs: argDefs,
    outputs: outputArgs,
    nodes: encodeNodes([...reads, ...heads, ...lowered.nodes, ...tail]),
    ret,
    isStateful: bound.length > 0,
    controlOutputs: reads.map((r) => r.name),
  });
  return {
    def,
    nodeCount: reads.length + heads.length + lowered.nodes.length + tail.length,
    concrete: {
      name: opts.fnName,
      inputs: inputSpecs,
      outputs: outputs.map((o, i) => ({
        name: o.key,
        shape: values.get(o.value)!.shape,
        dtype: outputArgs[i].dtype,
      })),
      boundVariables: bound.map((p) => p.path),
    },
  };
}

/**
 * `init(seed)`: an int32 scalar seed -> every parameter, keyed by its `inputs`-mode keyword name.
 * Parameter i draws from the stateless generators with seed [seed, i], so one seed gives the same
 * parameters on every device and under XLA.
 */
export function buildInitFunction(
  params: readonly { readonly path: string; readonly shape: readonly number[] }[],
  rule: (path: string, shape: readonly number[]) => InitRule,
  fnName: string,
): BuiltFunction {
  const nodes: TfNode[] = [];
  const ref = (node: string, outArg = "output"): TfRef => ({ node, outArg, index: 0, flat: 0 });
  const add = (name: string, op: string, inputs: TfRef[], attrs: TfNode["attrs"], out = "output") => {
    nodes.push({ name, op, inputs, attrs, outArgs: [[out, 1]] });
    return ref(name, out);
  };
  const konst = (name: string, values: number[], shape: number[], dtype: "int32" | "float32") =>
    add(name, "Const", [], { value: { tensor: tensorValue(values, shape, dtype) }, dtype: { type: dtype } });
  const f32 = { type: "float32" as const };
  const named = params.map((p) => ({ ...p, key: paramArgName(p.path) })).sort((
    a,
    b,
  ) => (a.key < b.key ? -1 : 1));
  const ret: Record<string, string> = {};
  named.forEach((p, i) => {
    const at = `init/${p.path}`;
    const r = rule(p.path, p.shape);
    const shape = konst(`${at}/shape`, [...p.shape], [p.shape.length], "int32");
    const seed = add(`${at}/seed`, "Pack", [{ arg: "seed" }, konst(`${at}/index`, [i], [], "int32")], {
      N: { i: 2 },
      T: { type: "int32" },
      axis: { i: 0 },
    });
    const scaled = (x: TfRef, scale: number, shift: number) => {
      const m = add(
        `${at}/scale`,
        "Mul",
        [x, konst(`${at}/scale_by`, [scale], [], "float32")],
        { T: f32 },
        "z",
      );
      return shift === 0
        ? m
        : add(`${at}/shift`, "AddV2", [m, konst(`${at}/shift_by`, [shift], [], "float32")], { T: f32 }, "z");
    };
    const random = (op: string) =>
      add(`${at}/${op}`, op, [shape, seed], { dtype: f32, T: { type: "int32" }, Tseed: { type: "int32" } });
    let out: TfRef;
    switch (r.kind) {
      case "zeros":
      case "ones":
        out = add(`${at}/fill`, "Fill", [
          shape,
          konst(`${at}/value`, [r.kind === "ones" ? 1 : 0], [], "float32"),
        ], { T: f32, index_type: { type: "int32" } });
        break;
      case "normal":
        out = scaled(random("StatelessRandomNormal"), r.std, r.mean ?? 0);
        break;
      case "truncatedNormal":
        out = scaled(random("StatelessTruncatedNormal"), r.std, 0);
        break;
      case "uniform":
        out = scaled(random("StatelessRandomUniform"), r.max - r.min, r.min);
        break;
    }
    add(`output_${i}/identity`, "Identity", [out], { T: f32 });
    ret[`output_${i}`] = `output_${i}/identity:output:0`;
  });
  const def = functionDef({
    name: fnName,
    inputs: [{ name: "seed", dtype: "int32", shape: [], userName: "seed" }],
    outputs: named.map((_, i) => ({ name: `output_${i}`, dtype: "float32" })),
    nodes: encodeNodes(nodes),
    ret,
    isStateful: false,
  });
  return {
    def,
    nodeCount: nodes.length,
    concrete: {
      name: fnName,
      inputs: [{ name: "seed", shape: [], dtype: "int32" }],
      outputs: named.map((p) => ({ name: p.key, shape: p.shape, dtype: "float32" as const })),
      boundVariables: [],
    },
  };
}

/** The default init rule, from naming conventions: biases 0, scales 1, weights LeCun normal (fan-in = first dim). */
export function conventionalInit(path: string, shape: readonly number[]): InitRule {
  const leaf = path.split("/").at(-1) ?? "";
  if (leaf === "b" || leaf === "bias" || leaf === "beta") return { kind: "zeros" };
  if (leaf === "scale" || leaf === "gamma" || leaf === "g") return { kind: "ones" };
  const fanIn = shape.length > 1 ? shape[0] : 1;
  if (shape.length <= 1) return { kind: "zeros" };
  // std of a standard normal truncated to [-2, 2] is 0.8796: divide so the variance is 1/fanIn
  return { kind: "truncatedNormal", std: Math.sqrt(1 / fanIn) / 0.87962566103423978 };
}
