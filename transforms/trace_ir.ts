/**
 * The graph IR that `trace` produces: a flat list of nodes in execution order, like a jaxpr. Values
 * are numbered; every value has exactly one producer (an argument, a constant or a kernel call), and
 * every shape is static. Kernel names and attrs are tfjs-core's (`BatchMatMul{transposeB}`); the
 * exporters map them to TensorFlow ops.
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { TreeDef } from "./tree.ts";

export type ValueId = number;

export type TracedValue = {
  readonly id: ValueId;
  readonly shape: readonly number[];
  readonly dtype: tf.DataType;
};

/** Where a node was traced: the layer (param path prefix in use) and the caller's source line. */
export type TraceSite = { readonly layer: string; readonly source: string };

export type ConstData = Float32Array | Int32Array | Uint8Array | readonly Uint8Array[];

export type TraceNode =
  /** Leaf `path` of argument `arg` of the traced function. */
  | { readonly kind: "arg"; readonly arg: number; readonly path: string; readonly out: TracedValue }
  /** A tensor made from host values inside the function, or captured from outside it. */
  | { readonly kind: "const"; readonly data: ConstData; readonly out: TracedValue; readonly site: TraceSite }
  | {
    readonly kind: "op";
    readonly op: string;
    /** Named kernel inputs in tfjs order (`a`, `b`; `0`, `1`, ... for list inputs like Concat). */
    readonly inputs: readonly { readonly name: string; readonly value: ValueId }[];
    readonly attrs: Readonly<Record<string, unknown>>;
    readonly outs: readonly TracedValue[];
    readonly site: TraceSite;
  };

export type Graph = {
  readonly nodes: readonly TraceNode[];
  /** Output leaves in flat tree order, with their paths and the tree structure. */
  readonly outputs: readonly { readonly path: string; readonly value: ValueId }[];
  readonly outputTree: TreeDef;
};

const SHORT: Partial<Record<tf.DataType, string>> = {
  float32: "f32",
  int32: "i32",
  bool: "bool",
  string: "str",
  complex64: "c64",
};

export function formatType(v: { readonly shape: readonly number[]; readonly dtype: tf.DataType }): string {
  return `${SHORT[v.dtype] ?? v.dtype}[${v.shape.join(",")}]`;
}

function formatAttr(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(formatAttr).join(",")}]`;
  if (v !== null && typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function formatConst(data: ConstData, n: number): string {
  if (n === 0) return "[]";
  if (Array.isArray(data)) return `<${n} strings>`;
  const arr = data as Float32Array | Int32Array | Uint8Array;
  if (n === 1) return String(arr[0]);
  if (n <= 6) return `[${Array.from(arr).join(",")}]`;
  return `<${n} values>`;
}

/**
 * Prints the graph the way jax prints a jaxpr:
 *   { lambda a0:f32[2,4] a1:f32[4,8] ; let
 *       %2:f32[2,8] = BatchMatMul[transposeA=false,transposeB=false] %0 %1
 *     in {y: %2} }
 */
export function printGraph(g: Graph): string {
  const name = (id: ValueId) => `%${id}`;
  const args = g.nodes.filter((n) => n.kind === "arg").map((n) => `${name(n.out.id)}:${formatType(n.out)}`);
  const lines: string[] = [`{ lambda ${args.join(" ")} ; let`];
  const argPaths = g.nodes.flatMap((
    n,
  ) => (n.kind === "arg" ? [`    ${name(n.out.id)} = arg ${n.path ? `${n.arg}/${n.path}` : n.arg}`] : []));
  lines.push(...argPaths);
  for (const n of g.nodes) {
    if (n.kind === "const") {
      lines.push(
        `    ${name(n.out.id)}:${formatType(n.out)} = const ${
          formatConst(
            n.data,
            n.out.shape.reduce((a, b) => a * b, 1),
          )
        }`,
      );
    } else if (n.kind === "op") {
      const attrs = Object.keys(n.attrs).sort().filter((k) => n.attrs[k] !== undefined).map((k) =>
        `${k}=${formatAttr(n.attrs[k])}`
      );
      const outs = n.outs.map((o) => `${name(o.id)}:${formatType(o)}`).join(" ");
      const ins = n.inputs.map((i) => name(i.value)).join(" ");
      lines.push(`    ${outs} = ${n.op}${attrs.length ? `[${attrs.join(",")}]` : ""} ${ins}`.trimEnd());
    }
  }
  const outs = g.outputs.map((o) => `${o.path || "_"}: ${name(o.value)}`).join(", ");
  lines.push(`  in {${outs}} }`);
  return lines.join("\n");
}

/** A map from value id to the value and the node that produced it. */
export function valueIndex(g: Graph): Map<ValueId, { value: TracedValue; node: TraceNode }> {
  const m = new Map<ValueId, { value: TracedValue; node: TraceNode }>();
  for (const n of g.nodes) {
    const outs = n.kind === "op" ? n.outs : [n.out];
    for (const o of outs) m.set(o.id, { value: o, node: n });
  }
  return m;
}

/** Counts of each kernel in the graph (handy in tests and benchmarks). */
export function opCounts(g: Graph): Record<string, number> {
  const c: Record<string, number> = {};
  for (const n of g.nodes) {
    const k = n.kind === "op" ? n.op : n.kind;
    c[k] = (c[k] ?? 0) + 1;
  }
  return c;
}

/**
 * The graph without nodes that no output depends on (dead-code elimination). Arguments are always
 * kept, so the graph's signature does not change.
 */
export function pruneGraph(g: Graph): Graph {
  const live = new Set<ValueId>(g.outputs.map((o) => o.value));
  const keep: TraceNode[] = [];
  for (let i = g.nodes.length - 1; i >= 0; i--) {
    const n = g.nodes[i];
    if (n.kind === "arg") keep.push(n);
    else if (n.kind === "const") {
      if (live.has(n.out.id)) keep.push(n);
    } else if (n.outs.some((o) => live.has(o.id))) {
      keep.push(n);
      for (const input of n.inputs) live.add(input.value);
    }
  }
  return { ...g, nodes: keep.reverse() };
}
