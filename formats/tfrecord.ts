/**
 * TFRecord files and tf.train.Example records, as TensorFlow reads them
 * (tensorflow/core/lib/io/record_writer.cc, core/example/{example,feature}.proto).
 *
 * A record is framed as
 *   uint64le length | uint32le masked_crc32c(length bytes) | data | uint32le masked_crc32c(data)
 * so a reader detects a corrupt length before trusting it, and corrupt data after reading it.
 *
 * An Example is `Features{ map<string, Feature> feature = 1 }` at field 1, each Feature one of
 * bytes_list (1), float_list (2, packed float32) or int64_list (3, packed varints).
 */
import { Data } from "effect";
import { crc32c, maskCrc } from "./crc32c.ts";

export class TFRecordError extends Data.TaggedError("TFRecordError")<{
  readonly offset: number;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot read TFRecord at byte ${this.offset}: ${this.reason}`;
  }
}

const HEADER = 12, FOOTER = 4;

/** One framed record. */
export function encodeRecord(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(HEADER + data.length + FOOTER);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length % 2 ** 32, true);
  view.setUint32(4, Math.floor(data.length / 2 ** 32), true);
  view.setUint32(8, maskCrc(crc32c(out.subarray(0, 8))), true);
  out.set(data, HEADER);
  view.setUint32(HEADER + data.length, maskCrc(crc32c(data)), true);
  return out;
}

/** The records of a whole TFRecord file, checking both CRCs; throws `TFRecordError`. */
export function decodeRecords(bytes: Uint8Array): Uint8Array[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const records: Uint8Array[] = [];
  for (let pos = 0; pos < bytes.length;) {
    if (pos + HEADER > bytes.length) {
      throw new TFRecordError({
        offset: pos,
        reason: `truncated header (${bytes.length - pos} of ${HEADER} bytes)`,
      });
    }
    if (view.getUint32(pos + 8, true) !== maskCrc(crc32c(bytes.subarray(pos, pos + 8)))) {
      throw new TFRecordError({ offset: pos, reason: "corrupted record length (length CRC mismatch)" });
    }
    const length = view.getUint32(pos, true) + view.getUint32(pos + 4, true) * 2 ** 32;
    const end = pos + HEADER + length;
    if (end + FOOTER > bytes.length) {
      throw new TFRecordError({
        offset: pos,
        reason: `truncated record (needs ${length + FOOTER} bytes, ${bytes.length - pos - HEADER} left)`,
      });
    }
    const data = bytes.subarray(pos + HEADER, end);
    if (view.getUint32(end, true) !== maskCrc(crc32c(data))) {
      throw new TFRecordError({ offset: pos, reason: "corrupted record data (data CRC mismatch)" });
    }
    records.push(data);
    pos = end + FOOTER;
  }
  return records;
}

export type Feature =
  | { readonly kind: "bytes"; readonly value: readonly Uint8Array[] }
  | { readonly kind: "float"; readonly value: ArrayLike<number> }
  | { readonly kind: "int64"; readonly value: ArrayLike<number> };

export type Features = Readonly<Record<string, Feature>>;

/** A growable protobuf writer: just varints, fixed32 floats and length-delimited fields. */
function protoWriter() {
  let buf = new Uint8Array(256), len = 0;
  const reserve = (n: number) => {
    if (len + n <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, len + n));
    next.set(buf.subarray(0, len));
    buf = next;
  };
  const varint = (v: number | bigint) => {
    reserve(10);
    if (typeof v === "number" && v >= 0 && Number.isSafeInteger(v)) {
      while (v >= 0x80) {
        buf[len++] = (v % 128) | 0x80;
        v = Math.floor(v / 128);
      }
      buf[len++] = v;
      return;
    }
    // negatives and bigints: 64-bit two's complement, always 10 bytes for negatives
    let u = BigInt.asUintN(64, BigInt(v));
    while (u >= 0x80n) {
      buf[len++] = Number(u & 0x7fn) | 0x80;
      u >>= 7n;
    }
    buf[len++] = Number(u);
  };
  return {
    varint,
    tag: (field: number, wire: number) => varint(field * 8 + wire),
    bytes: (field: number, data: Uint8Array) => {
      varint(field * 8 + 2);
      varint(data.length);
      reserve(data.length);
      buf.set(data, len);
      len += data.length;
    },
    floats: (field: number, values: ArrayLike<number>) => {
      const packed = new Uint8Array(values.length * 4);
      const view = new DataView(packed.buffer);
      for (let i = 0; i < values.length; i++) view.setFloat32(4 * i, values[i], true);
      varint(field * 8 + 2);
      varint(packed.length);
      reserve(packed.length);
      buf.set(packed, len);
      len += packed.length;
    },
    done: () => buf.slice(0, len),
  };
}

function encodeFeature(f: Feature): Uint8Array {
  const list = protoWriter();
  switch (f.kind) {
    case "bytes":
      for (const b of f.value) list.bytes(1, b);
      break;
    case "float":
      if (f.value.length > 0) list.floats(1, f.value);
      break;
    case "int64": {
      const packed = protoWriter();
      for (let i = 0; i < f.value.length; i++) {
        if (!Number.isInteger(f.value[i])) {
          throw new RangeError(`Cannot encode int64 feature: ${f.value[i]} is not an integer`);
        }
        packed.varint(f.value[i]);
      }
      if (f.value.length > 0) list.bytes(1, packed.done());
      break;
    }
  }
  const feature = protoWriter();
  feature.bytes(f.kind === "bytes" ? 1 : f.kind === "float" ? 2 : 3, list.done());
  return feature.done();
}

/** A serialized tf.train.Example; keys are written sorted, so equal features give equal bytes. */
export function encodeExample(features: Features): Uint8Array {
  const encoder = new TextEncoder();
  const map = protoWriter();
  for (const key of Object.keys(features).sort()) {
    const entry = protoWriter();
    entry.bytes(1, encoder.encode(key));
    entry.bytes(2, encodeFeature(features[key]));
    map.bytes(1, entry.done());
  }
  const example = protoWriter();
  example.bytes(1, map.done());
  return example.done();
}

/** Fields of one message as [field, wire, payload]; payload is bytes for wire 2, bigint for varints. */
function* fields(bytes: Uint8Array): Generator<[number, number, Uint8Array | bigint]> {
  let pos = 0;
  const varint = (): bigint => {
    let v = 0n, shift = 0n;
    for (;;) {
      if (pos >= bytes.length) {
        throw new TFRecordError({ offset: pos, reason: "Example varint runs past the end" });
      }
      const b = bytes[pos++];
      v |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return v;
      shift += 7n;
      if (shift > 63n) {
        throw new TFRecordError({ offset: pos, reason: "Example varint longer than 10 bytes" });
      }
    }
  };
  while (pos < bytes.length) {
    const key = Number(varint());
    const field = key >>> 3, wire = key & 7;
    if (wire === 0) yield [field, wire, varint()];
    else if (wire === 2) {
      const n = Number(varint());
      if (pos + n > bytes.length) {
        throw new TFRecordError({ offset: pos, reason: `Example field ${field} runs past the end` });
      }
      yield [field, wire, bytes.subarray(pos, pos + n)];
      pos += n;
    } else if (wire === 5) {
      yield [field, wire, bytes.subarray(pos, pos + 4)];
      pos += 4;
    } else if (wire === 1) {
      pos += 8;
    } else throw new TFRecordError({ offset: pos, reason: `Example has unsupported wire type ${wire}` });
  }
}

const float32At = (b: Uint8Array, i: number) =>
  new DataView(b.buffer, b.byteOffset + i, 4).getFloat32(0, true);

function decodeFeature(bytes: Uint8Array): Feature {
  for (const [kind, , list] of fields(bytes)) {
    if (!(list instanceof Uint8Array)) continue;
    if (kind === 1) {
      const value: Uint8Array[] = [];
      for (const [, , v] of fields(list)) if (v instanceof Uint8Array) value.push(v.slice());
      return { kind: "bytes", value };
    }
    if (kind === 2) {
      const value: number[] = [];
      for (const [, wire, v] of fields(list)) {
        if (!(v instanceof Uint8Array)) continue;
        if (wire === 5) value.push(float32At(v, 0)); // unpacked
        else for (let i = 0; i + 4 <= v.length; i += 4) value.push(float32At(v, i));
      }
      return { kind: "float", value: Float32Array.from(value) };
    }
    if (kind === 3) {
      const value: number[] = [];
      for (const [, wire, v] of fields(list)) {
        if (wire === 0) value.push(Number(BigInt.asIntN(64, v as bigint))); // unpacked
        else if (v instanceof Uint8Array) {
          for (const [, , x] of fields(packedAsFields(v))) {
            value.push(Number(BigInt.asIntN(64, x as bigint)));
          }
        }
      }
      return { kind: "int64", value };
    }
  }
  return { kind: "bytes", value: [] }; // an empty Feature
}

/** Rewrites a packed varint run as field-1 varints so `fields` can walk it. */
function packedAsFields(packed: Uint8Array): Uint8Array {
  const out: number[] = [];
  let start = true;
  for (const b of packed) {
    if (start) out.push(0x08);
    out.push(b);
    start = (b & 0x80) === 0;
  }
  return Uint8Array.from(out);
}

/** Parses a serialized tf.train.Example (for readers and tests); throws `TFRecordError`. */
export function decodeExample(bytes: Uint8Array): Record<string, Feature> {
  const decoder = new TextDecoder();
  const out: Record<string, Feature> = {};
  for (const [field, , features] of fields(bytes)) {
    if (field !== 1 || !(features instanceof Uint8Array)) continue;
    for (const [f, , entry] of fields(features)) {
      if (f !== 1 || !(entry instanceof Uint8Array)) continue;
      let key = "", feature: Feature = { kind: "bytes", value: [] };
      for (const [k, , v] of fields(entry)) {
        if (k === 1 && v instanceof Uint8Array) key = decoder.decode(v);
        if (k === 2 && v instanceof Uint8Array) feature = decodeFeature(v);
      }
      out[key] = feature;
    }
  }
  return out;
}
