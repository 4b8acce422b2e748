/**
 * TensorFlow 2.21's OpDefs for the ops an export may emit (formats/protos/tensorflow/op_defs.ts,
 * vendored from the wheel's registry), used for two things:
 * - `meta_info_def.stripped_op_list`: the OpDef of every op the graph and its functions use, sorted
 *   by name, as TensorFlow writes it (a consumer older than the producer drops attrs it lacks);
 * - checking each node before anything is written: the op exists, every attr it sets is declared
 *   (or internal, `_`-prefixed), every attr without a default is set, and a function-body input
 *   `node:out_arg:i` names an output the producing op has. TensorFlow's importer rejects each of
 *   these, but only at load time and far from the lowering rule that caused it.
 */
import { fromBinary } from "@bufbuild/protobuf";
import type { FunctionDef } from "../../formats/protos/tensorflow/core/framework/function_pb.ts";
import type { NodeDef } from "../../formats/protos/tensorflow/core/framework/node_def_pb.ts";
import { type OpDef, OpListSchema } from "../../formats/protos/tensorflow/core/framework/op_def_pb.ts";
import { TF_OP_LIST_BASE64 } from "../../formats/protos/tensorflow/op_defs.ts";

let registry: ReadonlyMap<string, OpDef> | undefined;

function ops(): ReadonlyMap<string, OpDef> {
  if (!registry) {
    const bytes = Uint8Array.from(atob(TF_OP_LIST_BASE64), (c) => c.charCodeAt(0));
    registry = new Map(fromBinary(OpListSchema, bytes).op.map((op) => [op.name, op]));
  }
  return registry;
}

/** The OpDef TensorFlow 2.21 registers for `name`, if the vendored modules have it. */
export function tfOpDef(name: string): OpDef | undefined {
  return ops().get(name);
}

/** One node TensorFlow would refuse: where it is, and why. */
export type NodeProblem = {
  readonly fn: string;
  readonly node: string;
  readonly op: string;
  readonly reason: string;
};

/** The problems of one function body (`fn` its name) or of the graph's nodes (`fn` = "graph"). */
export function checkNodes(fn: string, nodes: readonly NodeDef[], inFunction: boolean): NodeProblem[] {
  const problems: NodeProblem[] = [];
  const opOf = new Map(nodes.map((n) => [n.name, n.op]));
  for (const n of nodes) {
    const problem = (reason: string) => problems.push({ fn, node: n.name, op: n.op, reason });
    const def = tfOpDef(n.op);
    if (!def) {
      problem(`${n.op} is not an op of TensorFlow 2.21's registry (formats/protos/tensorflow/op_defs.ts)`);
      continue;
    }
    const declared = new Set(def.attr.map((a) => a.name));
    for (const k of Object.keys(n.attr)) {
      if (!k.startsWith("_") && !declared.has(k)) {
        problem(`sets attr '${k}', which ${n.op} does not declare`);
      }
    }
    for (const a of def.attr) {
      if (!a.defaultValue && !(a.name in n.attr)) {
        problem(`leaves out attr '${a.name}', which has no default`);
      }
    }
    if (!inFunction) continue;
    for (const input of n.input) {
      const [src, outArg] = input.split(":");
      if (input.startsWith("^") || outArg === undefined) continue;
      const srcOp = opOf.get(src);
      const srcDef = srcOp === undefined ? undefined : tfOpDef(srcOp);
      if (srcDef && !srcDef.outputArg.some((o) => o.name === outArg)) {
        problem(
          `reads '${input}', but ${srcOp} has no output '${outArg}' (it has ${
            srcDef.outputArg.map((o) => o.name).join(", ")
          })`,
        );
      }
    }
  }
  return problems;
}

/** Every op `graph` and `library` use, with its OpDef, sorted by name (unknown ops are left out). */
export function strippedOpList(graph: readonly NodeDef[], library: readonly FunctionDef[]): OpDef[] {
  const used = new Set(graph.map((n) => n.op));
  for (const f of library) for (const n of f.nodeDef) used.add(n.op);
  return [...used].sort().flatMap((name) => tfOpDef(name) ?? []);
}
