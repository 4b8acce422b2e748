/**
 * The TensorFlow framework messages a graph is made of (DataType, TensorShapeProto, TensorProto,
 * AttrValue, NodeDef, OpDef.ArgDef, FunctionDef, StructuredValue), built from plain records with
 * the code generated from TensorFlow's own .proto files (formats/protos). Serialize them with
 * `toBinaryDeterministic` (formats/deterministic.ts), which sorts map entries as TensorFlow does.
 */
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import {
  type AttrValue,
  AttrValueSchema,
} from "../../formats/protos/tensorflow/core/framework/attr_value_pb.ts";
import {
  type FunctionDef,
  type FunctionDef_ArgAttrsSchema,
  FunctionDefSchema,
} from "../../formats/protos/tensorflow/core/framework/function_pb.ts";
import { type NodeDef, NodeDefSchema } from "../../formats/protos/tensorflow/core/framework/node_def_pb.ts";
import type { OpDef_ArgDefSchema } from "../../formats/protos/tensorflow/core/framework/op_def_pb.ts";
import {
  type TensorProto,
  TensorProtoSchema,
} from "../../formats/protos/tensorflow/core/framework/tensor_pb.ts";
import {
  type TensorShapeProto,
  TensorShapeProtoSchema,
} from "../../formats/protos/tensorflow/core/framework/tensor_shape_pb.ts";
import { DataType } from "../../formats/protos/tensorflow/core/framework/types_pb.ts";
import {
  type StructuredValue,
  StructuredValueSchema,
} from "../../formats/protos/tensorflow/core/protobuf/struct_pb.ts";

/** Our dtype names -> types.proto's DataType. */
export const DT = {
  float32: DataType.DT_FLOAT,
  float64: DataType.DT_DOUBLE,
  float16: DataType.DT_HALF,
  bfloat16: DataType.DT_BFLOAT16,
  int8: DataType.DT_INT8,
  int16: DataType.DT_INT16,
  int32: DataType.DT_INT32,
  int64: DataType.DT_INT64,
  uint8: DataType.DT_UINT8,
  uint16: DataType.DT_UINT16,
  uint32: DataType.DT_UINT32,
  uint64: DataType.DT_UINT64,
  bool: DataType.DT_BOOL,
  string: DataType.DT_STRING,
  complex64: DataType.DT_COMPLEX64,
  resource: DataType.DT_RESOURCE,
} as const;
export type TfDtype = keyof typeof DT;

/** "DT_FLOAT" for float32: the enum's own names, as proto3 JSON (tfjs graph models) spells them. */
export const DT_NAME = Object.fromEntries(
  Object.entries(DT).map(([k, v]) => [k, DataType[v]]),
) as Readonly<Record<TfDtype, string>>;

/** `d` if it names a TensorFlow dtype (any signature input or output may have one), else undefined. */
export function tfDtype(d: string): TfDtype | undefined {
  return d in DT ? d as TfDtype : undefined;
}

export type TensorValue = {
  readonly dtype: TfDtype;
  readonly shape: readonly number[];
  /** Little-endian row-major bytes (TensorProto.tensor_content), or one byte string per element. */
  readonly content: Uint8Array | readonly Uint8Array[];
};

/** A graph attribute value (AttrValue's oneof); `list*` are AttrValue.ListValue fields. */
export type TfAttr =
  | { readonly type: TfDtype }
  | { readonly i: number }
  | { readonly f: number }
  | { readonly b: boolean }
  | { readonly s: string | Uint8Array }
  | { readonly shape: readonly number[] | null }
  | { readonly tensor: TensorValue }
  | { readonly listI: readonly number[] }
  | { readonly listType: readonly TfDtype[] }
  | { readonly listShape: readonly (readonly number[] | null)[] }
  | { readonly func: string };

const utf8 = new TextEncoder();

/** A static shape, or `null` for unknown rank; -1 is an unknown dimension. */
export function shapeProto(shape: readonly number[] | null): TensorShapeProto {
  if (shape === null) return create(TensorShapeProtoSchema, { unknownRank: true });
  return create(TensorShapeProtoSchema, { dim: shape.map((d) => ({ size: BigInt(d) })) });
}

export function tensorProto(t: TensorValue): TensorProto {
  const head = { dtype: DT[t.dtype], tensorShape: shapeProto(t.shape) };
  if (t.dtype === "string") {
    return create(TensorProtoSchema, { ...head, stringVal: [...t.content as readonly Uint8Array[]] });
  }
  return create(TensorProtoSchema, { ...head, tensorContent: t.content as Uint8Array });
}

export function attrValue(a: TfAttr): AttrValue {
  const v = (value: MessageInitShape<typeof AttrValueSchema>["value"]) => create(AttrValueSchema, { value });
  if ("type" in a) return v({ case: "type", value: DT[a.type] });
  if ("i" in a) return v({ case: "i", value: BigInt(a.i) });
  if ("f" in a) return v({ case: "f", value: a.f });
  if ("b" in a) return v({ case: "b", value: a.b });
  if ("s" in a) return v({ case: "s", value: typeof a.s === "string" ? utf8.encode(a.s) : a.s });
  if ("shape" in a) return v({ case: "shape", value: shapeProto(a.shape) });
  if ("tensor" in a) return v({ case: "tensor", value: tensorProto(a.tensor) });
  const list = (value: Record<string, unknown>) =>
    create(AttrValueSchema, { value: { case: "list", value } });
  if ("listI" in a) return list({ i: a.listI.map(BigInt) });
  if ("listType" in a) return list({ type: a.listType.map((t) => DT[t]) });
  if ("listShape" in a) return list({ shape: a.listShape.map(shapeProto) });
  return v({ case: "func", value: { name: a.func } });
}

export function attrMap(attrs: Readonly<Record<string, TfAttr>>): Record<string, AttrValue> {
  return Object.fromEntries(Object.keys(attrs).sort().map((k) => [k, attrValue(attrs[k])]));
}

export type NodeSpec = {
  readonly name: string;
  readonly op: string;
  /** "node", "node:1", "^ctrl" (graph) or "node:out_arg:0", "arg", "^ctrl" (function body) */
  readonly inputs: readonly string[];
  readonly device?: string;
  readonly attrs: Readonly<Record<string, TfAttr>>;
};

export function nodeDef(n: NodeSpec): NodeDef {
  return create(NodeDefSchema, {
    name: n.name,
    op: n.op,
    input: [...n.inputs],
    device: n.device ?? "",
    attr: attrMap(n.attrs),
  });
}

/** A function argument; `handle` is the variable a DT_RESOURCE argument points to (OpDef.ArgDef.handle_data). */
export type ArgDef = {
  readonly name: string;
  readonly dtype: TfDtype;
  readonly handle?: { readonly dtype: TfDtype; readonly shape: readonly number[] };
};

function argDef(a: ArgDef): MessageInitShape<typeof OpDef_ArgDefSchema> {
  const handleData = a.handle ? [{ dtype: DT[a.handle.dtype], shape: shapeProto(a.handle.shape) }] : [];
  return { name: a.name, type: DT[a.dtype], handleData };
}

/** An input argument's shape and the name the user gave it: what tf.function records in arg_attr. */
export type InputArg = ArgDef & { readonly shape: readonly number[] | null; readonly userName: string };

export type FunctionDefSpec = {
  readonly name: string;
  readonly inputs: readonly InputArg[];
  readonly outputs: readonly ArgDef[];
  readonly nodes: readonly NodeSpec[];
  /** output arg name -> "node:out_arg:index" or an input arg name */
  readonly ret: Readonly<Record<string, string>>;
  readonly isStateful: boolean;
  /** Stateful nodes that must run even when no output needs them (reads, assigns, saves). */
  readonly controlOutputs?: readonly string[];
  readonly attrs?: Readonly<Record<string, TfAttr>>;
};

/**
 * A FunctionDef as tf.function serializes one: besides the body, `_input_shapes` (one shape per
 * argument, a scalar for a resource handle) and `arg_attr` (each argument's `_user_specified_name`
 * and, for tensors, `_output_shapes`) give the loaded function's placeholders their static shapes.
 */
export function functionDef(f: FunctionDefSpec): FunctionDef {
  const shapeOf = (a: InputArg) => a.dtype === "resource" ? [] : a.shape;
  const argAttr: Record<number, MessageInitShape<typeof FunctionDef_ArgAttrsSchema>> = {};
  f.inputs.forEach((a, i) => {
    const attrs: Record<string, TfAttr> = { _user_specified_name: { s: a.userName } };
    if (a.dtype !== "resource") attrs._output_shapes = { listShape: [a.shape] };
    argAttr[i] = { attr: attrMap(attrs) };
  });
  const control = [...f.controlOutputs ?? []].sort();
  return create(FunctionDefSchema, {
    signature: {
      name: f.name,
      inputArg: f.inputs.map(argDef),
      outputArg: f.outputs.map(argDef),
      isStateful: f.isStateful,
      controlOutput: control,
    },
    nodeDef: f.nodes.map(nodeDef),
    ret: Object.fromEntries(Object.keys(f.ret).sort().map((k) => [k, f.ret[k]])),
    attr: attrMap({
      _construction_context: { s: "kEagerRuntime" },
      _input_shapes: { listShape: f.inputs.map(shapeOf) },
      ...f.attrs,
    }),
    controlRet: Object.fromEntries(control.map((n) => [n, n])),
    argAttr,
  });
}

// ---- struct.proto: StructuredValue, for concrete function signatures ----------------------------

export type Structured =
  | { readonly kind: "none" }
  | { readonly kind: "string"; readonly value: string }
  | { readonly kind: "tuple"; readonly values: readonly Structured[] }
  | { readonly kind: "list"; readonly values: readonly Structured[] }
  | { readonly kind: "dict"; readonly fields: Readonly<Record<string, Structured>> }
  | {
    readonly kind: "namedTuple";
    readonly name: string;
    readonly fields: readonly (readonly [string, Structured])[];
  }
  | {
    readonly kind: "spec";
    readonly name: string;
    readonly shape: readonly number[];
    readonly dtype: TfDtype;
  };

export function structuredValue(v: Structured): StructuredValue {
  const s = (kind: MessageInitShape<typeof StructuredValueSchema>["kind"]) =>
    create(StructuredValueSchema, { kind });
  switch (v.kind) {
    case "none":
      return s({ case: "noneValue", value: {} });
    case "string":
      return s({ case: "stringValue", value: v.value });
    case "tuple":
      return s({ case: "tupleValue", value: { values: v.values.map(structuredValue) } });
    case "list":
      return s({ case: "listValue", value: { values: v.values.map(structuredValue) } });
    case "dict": {
      const fields = Object.fromEntries(
        Object.keys(v.fields).sort().map((k) => [k, structuredValue(v.fields[k])]),
      );
      return s({ case: "dictValue", value: { fields } });
    }
    case "namedTuple":
      return s({
        case: "namedTupleValue",
        value: { name: v.name, values: v.fields.map(([key, x]) => ({ key, value: structuredValue(x) })) },
      });
    case "spec":
      return s({
        case: "tensorSpecValue",
        value: { name: v.name, shape: shapeProto(v.shape), dtype: DT[v.dtype] },
      });
  }
}
