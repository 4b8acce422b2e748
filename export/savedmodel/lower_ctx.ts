/**
 * What a lowering rule sees and makes: TF tensor references, TF nodes, and the context through which
 * a rule reads its traced inputs and emits ops and constants (lower.ts runs the rules).
 */
import type * as tf from "@tensorflow/tfjs-core";
import type { TracedValue, TraceNode, ValueId } from "../../transforms/trace.ts";
import type { TfAttr, TfDtype } from "./tf_protos.ts";

/** A TF tensor: output `index` of output arg `outArg` of `node` (flat = position among all outputs), or a function argument. */
export type TfRef = {
  readonly node: string;
  readonly outArg: string;
  readonly index: number;
  readonly flat: number;
} | { readonly arg: string };

export type TfNode = {
  readonly name: string;
  readonly op: string;
  readonly inputs: readonly TfRef[];
  readonly attrs: Readonly<Record<string, TfAttr>>;
  readonly outArgs: readonly (readonly [string, number])[];
};

export type ComputeDtype = "float32" | "bfloat16";

export type Lowered = { readonly nodes: TfNode[]; readonly refs: Map<ValueId, TfRef> };

export type OpNode = Extract<TraceNode, { kind: "op" }>;

/** What a lowering rule can do: read inputs, map dtypes, emit ops and constants. */
export type LowerCtx = {
  readonly node: OpNode;
  input(i: number): TfRef;
  inputValue(i: number): TracedValue;
  dt(dtype: tf.DataType): TfDtype;
  op(
    op: string,
    inputs: readonly TfRef[],
    attrs: Record<string, TfAttr>,
    outArgs?: readonly (readonly [string, number])[],
  ): TfRef[];
  ints(values: readonly number[], shape?: readonly number[]): TfRef;
  scalar(value: number, dtype: tf.DataType): TfRef;
  constant(values: readonly number[], shape: readonly number[], dtype: tf.DataType): TfRef;
};

export type Rule = (c: LowerCtx, a: Record<string, any>) => TfRef[];
