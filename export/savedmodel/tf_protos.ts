/**
 * Encoders for the TensorFlow framework protos a graph needs (tensorflow/core/framework/*.proto):
 * DataType, TensorShapeProto, TensorProto, AttrValue, NodeDef, OpDef.ArgDef and FunctionDef.
 * Field numbers are those of TF 2.21 (see ../shared/notes/savedmodel-format.md §1). Map entries are
 * written in sorted key order, as protobuf's deterministic serialisation does.
 */
import * as pb from "../../formats/proto.ts";

/** tensorflow/core/framework/types.proto */
export const DT = {
  float32: 1,
  float64: 2,
  int32: 3,
  uint8: 4,
  string: 7,
  complex64: 8,
  int64: 9,
  bool: 10,
  bfloat16: 14,
  resource: 20,
  uint32: 22,
} as const;
export type TfDtype = keyof typeof DT;

export const DT_NAME: Readonly<Record<TfDtype, string>> = {
  float32: "DT_FLOAT",
  float64: "DT_DOUBLE",
  int32: "DT_INT32",
  uint8: "DT_UINT8",
  string: "DT_STRING",
  complex64: "DT_COMPLEX64",
  int64: "DT_INT64",
  bool: "DT_BOOL",
  bfloat16: "DT_BFLOAT16",
  resource: "DT_RESOURCE",
  uint32: "DT_UINT32",
};

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
  | { readonly s: string }
  | { readonly shape: readonly number[] }
  | { readonly tensor: TensorValue }
  | { readonly listI: readonly number[] }
  | { readonly listType: readonly TfDtype[] }
  | { readonly listShape: readonly (readonly number[])[] }
  | { readonly func: string };

export function shapeProto(shape: readonly number[] | null): Uint8Array {
  if (shape === null) return pb.bool(3, true); // unknown_rank
  return pb.message(shape.map((d) => pb.bytes(2, pb.varintIfSet(1, d))));
}

export function tensorProto(t: TensorValue): Uint8Array {
  const head = [pb.varint(1, DT[t.dtype]), pb.bytes(2, shapeProto(t.shape))];
  if (t.dtype === "string") return pb.message(head, (t.content as readonly Uint8Array[]).map((s) => pb.bytes(8, s)));
  const content = t.content as Uint8Array;
  return pb.message(head, content.length ? pb.bytes(4, content) : []);
}

export function attrValue(a: TfAttr): Uint8Array {
  if ("type" in a) return pb.varint(6, DT[a.type]);
  if ("i" in a) return pb.varint(3, a.i);
  if ("f" in a) return pb.float(4, a.f);
  if ("b" in a) return pb.bool(5, a.b);
  if ("s" in a) return pb.string(2, a.s);
  if ("shape" in a) return pb.bytes(7, shapeProto(a.shape));
  if ("tensor" in a) return pb.bytes(8, tensorProto(a.tensor));
  if ("listI" in a) return pb.bytes(1, pb.packedVarints(3, a.listI));
  if ("listType" in a) return pb.bytes(1, pb.packedVarints(6, a.listType.map((t) => DT[t])));
  if ("listShape" in a) return pb.bytes(1, pb.message(a.listShape.map((s) => pb.bytes(7, shapeProto(s)))));
  return pb.bytes(10, pb.string(1, a.func));
}

export function attrMap(field: number, attrs: Readonly<Record<string, TfAttr>>): Uint8Array[] {
  return Object.keys(attrs).sort().map((k) => pb.bytes(field, pb.message(pb.string(1, k), pb.bytes(2, attrValue(attrs[k])))));
}

export function nodeDef(n: { name: string; op: string; inputs: readonly string[]; device?: string; attrs: Readonly<Record<string, TfAttr>> }): Uint8Array {
  return pb.message(
    pb.string(1, n.name),
    pb.string(2, n.op),
    n.inputs.map((i) => pb.string(3, i)),
    pb.stringIfSet(4, n.device ?? ""),
    attrMap(5, n.attrs),
  );
}

export type ArgDef = { readonly name: string; readonly dtype: TfDtype };

function argDef(a: ArgDef): Uint8Array {
  return pb.message(pb.string(1, a.name), pb.varint(3, DT[a.dtype]));
}

export type FunctionDefSpec = {
  readonly name: string;
  readonly inputs: readonly ArgDef[];
  readonly outputs: readonly ArgDef[];
  readonly nodes: readonly Uint8Array[];
  /** output arg name -> "node:out_arg:index" or an input arg name */
  readonly ret: Readonly<Record<string, string>>;
  readonly isStateful: boolean;
  readonly attrs?: Readonly<Record<string, TfAttr>>;
};

export function functionDef(f: FunctionDefSpec): Uint8Array {
  const signature = pb.message(
    pb.string(1, f.name),
    f.inputs.map((a) => pb.bytes(2, argDef(a))),
    f.outputs.map((a) => pb.bytes(3, argDef(a))),
    pb.boolIfSet(17, f.isStateful),
  );
  return pb.message(
    pb.bytes(1, signature),
    f.nodes.map((n) => pb.bytes(3, n)),
    Object.keys(f.ret).sort().map((k) => pb.bytes(4, pb.message(pb.string(1, k), pb.string(2, f.ret[k])))),
    attrMap(5, f.attrs ?? {}),
  );
}

// ---- struct.proto: StructuredValue, for concrete function signatures ----------------------------

export type Structured =
  | { readonly kind: "none" }
  | { readonly kind: "tuple"; readonly values: readonly Structured[] }
  | { readonly kind: "dict"; readonly fields: Readonly<Record<string, Structured>> }
  | { readonly kind: "spec"; readonly name: string; readonly shape: readonly number[]; readonly dtype: TfDtype };

export function structuredValue(v: Structured): Uint8Array {
  switch (v.kind) {
    case "none":
      return pb.bytes(1, new Uint8Array(0));
    case "tuple":
      return pb.bytes(52, pb.message(v.values.map((x) => pb.bytes(1, structuredValue(x)))));
    case "dict":
      return pb.bytes(53, pb.message(Object.keys(v.fields).sort().map((k) => pb.bytes(1, pb.message(pb.string(1, k), pb.bytes(2, structuredValue(v.fields[k])))))));
    case "spec":
      return pb.bytes(33, pb.message(pb.string(1, v.name), pb.bytes(2, shapeProto(v.shape)), pb.varint(3, DT[v.dtype])));
  }
}
