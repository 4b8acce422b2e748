/**
 * The three protobuf messages of a TensorBundle index, encoded and decoded by hand: BundleHeaderProto,
 * BundleEntryProto (tensor_bundle.proto) and TensorShapeProto (tensor_shape.proto). Private to
 * formats/tensor_bundle.ts; fields are written in field order with proto3 defaults omitted, as TF's
 * C++ serializer does, so the bytes match TF's.
 */
import { maskCrc } from "./crc32c.ts";
import { byteSink, byteSource, TableError } from "./_sstable.ts";

/** Header {num_shards: 1, endianness: LITTLE (default), version {producer: 1}}. */
export const HEADER = new Uint8Array([0x08, 0x01, 0x1a, 0x02, 0x08, 0x01]);

export function encodeEntry(
  code: number,
  shape: readonly number[],
  offset: number,
  size: number,
  crc: number,
): Uint8Array {
  const shapeProto = byteSink();
  for (const d of shape) {
    const dim = byteSink();
    if (d !== 0) (dim.varint(0x08), dim.varint(d)); // Dim.size = 1 (proto3 omits zeros)
    shapeProto.varint(0x12); // TensorShapeProto.dim = 2
    shapeProto.varint(dim.length);
    shapeProto.bytes(dim.result());
  }
  const out = byteSink();
  out.varint(0x08); // dtype = 1
  out.varint(code);
  out.varint(0x12); // shape = 2
  out.varint(shapeProto.length);
  out.bytes(shapeProto.result());
  if (offset !== 0) (out.varint(0x20), out.varint(offset)); // offset = 4
  if (size !== 0) (out.varint(0x28), out.varint(size)); // size = 5
  const masked = maskCrc(crc);
  if (masked !== 0) (out.varint(0x35), out.fixed32(masked)); // crc32c = 6, fixed32
  return out.result();
}

export type Field = { field: number; value: number | Uint8Array };

/** The fields of a protobuf message (varints as numbers, fixed32 as numbers, bytes as Uint8Array). */
export function* protoFields(bytes: Uint8Array): Generator<Field> {
  const src = byteSource(bytes);
  while (!src.done) {
    const tag = src.varint();
    const field = Math.floor(tag / 8);
    switch (tag & 7) {
      case 0:
        yield { field, value: Number(src.varint64()) };
        break;
      case 1:
        src.take(8);
        break;
      case 2:
        yield { field, value: src.take(src.varint()) };
        break;
      case 5:
        yield { field, value: src.fixed32() };
        break;
      default:
        throw new TableError("malformed", `protobuf field ${field} has bad wire type ${tag & 7}`);
    }
  }
}

export type EntryProto = {
  dtype: number;
  shape: number[];
  shard: number;
  offset: number;
  size: number;
  crc: number;
  sliced: boolean;
};

export function decodeEntry(bytes: Uint8Array): EntryProto {
  const e: EntryProto = { dtype: 0, shape: [], shard: 0, offset: 0, size: 0, crc: 0, sliced: false };
  for (const { field, value } of protoFields(bytes)) {
    if (field === 1) e.dtype = value as number;
    else if (field === 2) e.shape = decodeShape(value as Uint8Array);
    else if (field === 3) e.shard = value as number;
    else if (field === 4) e.offset = value as number;
    else if (field === 5) e.size = value as number;
    else if (field === 6) e.crc = value as number;
    else if (field === 7) e.sliced = true;
  }
  return e;
}

function decodeShape(bytes: Uint8Array): number[] {
  const dims: number[] = [];
  for (const { field, value } of protoFields(bytes)) {
    if (field === 3 && value) throw new TableError("malformed", "shape has unknown rank");
    if (field !== 2) continue;
    let size = 0;
    for (const d of protoFields(value as Uint8Array)) if (d.field === 1) size = d.value as number;
    dims.push(size);
  }
  return dims;
}
