/**
 * Protocol Buffers wire format (https://protobuf.dev/programming-guides/encoding/): just enough to
 * write TensorFlow's SavedModel, GraphDef and TensorBundle protos, and to read them back in tests.
 *
 * A message is built from fields in field-number order, each an already-encoded `Uint8Array`:
 *   message(varint(1, 1n), string(2, "w"), sub(3, message(...)))
 * Callers leave out proto3 defaults themselves (the `*IfSet` helpers do it), so the bytes equal what
 * protobuf's own serializer writes for the same values. int64 fields take a BigInt (or a safe integer).
 */

export class ProtoError extends Error {
  override readonly name = "ProtoError";
}

const WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5;
const encoder = new TextEncoder();
const MASK64 = (1n << 64n) - 1n;

/** Base-128 varint of an unsigned 64-bit value; negative int32/int64 become their 10-byte two's complement. */
export function encodeVarint(value: number | bigint): Uint8Array {
  if (typeof value === "number" && !Number.isSafeInteger(value)) {
    throw new ProtoError(`Cannot encode varint ${value}: not a safe integer (pass a BigInt)`);
  }
  let v = BigInt(value);
  if (v < -(1n << 63n) || v > MASK64) throw new ProtoError(`Cannot encode varint ${value}: outside 64 bits`);
  v &= MASK64;
  if (v < 128n) return Uint8Array.of(Number(v));
  const out: number[] = [];
  while (v >= 128n) {
    out.push(Number(v & 127n) | 128);
    v >>= 7n;
  }
  out.push(Number(v));
  return Uint8Array.from(out);
}

/** ZigZag for sint32/sint64: small magnitudes of either sign get short varints. */
export function zigzag(value: number | bigint): bigint {
  const v = BigInt(value);
  return ((v << 1n) ^ (v >> 63n)) & MASK64;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function tag(field: number, wire: number): Uint8Array {
  if (!Number.isInteger(field) || field < 1 || field > 0x1fffffff) throw new ProtoError(`Cannot encode field number ${field}: must be in [1, 2^29)`);
  return encodeVarint(BigInt(field) * 8n + BigInt(wire));
}

/** The fields of a message, concatenated (a message is just its fields). */
export function message(...fields: readonly (Uint8Array | readonly Uint8Array[])[]): Uint8Array {
  return concatBytes(fields.flat() as Uint8Array[]);
}

/** int32/int64/uint32/uint64/enum field. */
export function varint(field: number, value: number | bigint): Uint8Array {
  return concatBytes([tag(field, WIRE_VARINT), encodeVarint(value)]);
}

export function sint(field: number, value: number | bigint): Uint8Array {
  return concatBytes([tag(field, WIRE_VARINT), encodeVarint(zigzag(value))]);
}

export function bool(field: number, value: boolean): Uint8Array {
  return varint(field, value ? 1 : 0);
}

export function fixed32(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, value >>> 0, true);
  return concatBytes([tag(field, WIRE_I32), b]);
}

export function float(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return concatBytes([tag(field, WIRE_I32), b]);
}

export function double(field: number, value: number): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setFloat64(0, value, true);
  return concatBytes([tag(field, WIRE_I64), b]);
}

/** A length-delimited field: bytes, or an embedded message's encoding. */
export function bytes(field: number, value: Uint8Array): Uint8Array {
  return concatBytes([tag(field, WIRE_LEN), encodeVarint(value.length), value]);
}

export function string(field: number, value: string): Uint8Array {
  return bytes(field, encoder.encode(value));
}

/** A packed repeated varint field (proto3's default for repeated scalars); empty lists are left out. */
export function packedVarints(field: number, values: readonly (number | bigint)[]): Uint8Array {
  if (values.length === 0) return new Uint8Array(0);
  return bytes(field, concatBytes(values.map(encodeVarint)));
}

export function packedFloats(field: number, values: readonly number[]): Uint8Array {
  if (values.length === 0) return new Uint8Array(0);
  return bytes(field, new Uint8Array(Float32Array.from(values).buffer));
}

/** A map<K, V> field: one entry message {key = 1, value = 2} per pair, in the order given. */
export function mapEntries(field: number, entries: readonly (readonly [Uint8Array, Uint8Array])[]): Uint8Array[] {
  return entries.map(([k, v]) => bytes(field, message(k, v)));
}

// proto3 leaves default values out of the encoding; these keep call sites short.
export const varintIfSet = (field: number, v: number | bigint): Uint8Array =>
  BigInt(v) === 0n ? new Uint8Array(0) : varint(field, v);
export const boolIfSet = (field: number, v: boolean): Uint8Array => (v ? bool(field, v) : new Uint8Array(0));
export const stringIfSet = (field: number, v: string): Uint8Array => (v === "" ? new Uint8Array(0) : string(field, v));

// ---------------------------------------------------------------------------------------------
// Reading: a flat list of fields, for tests and for reading back what we wrote.

export type WireField =
  | { readonly field: number; readonly wire: "varint"; readonly value: bigint }
  | { readonly field: number; readonly wire: "i64"; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: "len"; readonly value: Uint8Array }
  | { readonly field: number; readonly wire: "i32"; readonly value: Uint8Array };

export function decodeVarint(buf: Uint8Array, at: number): { value: bigint; next: number } {
  let v = 0n, shift = 0n, i = at;
  for (;;) {
    if (i >= buf.length) throw new ProtoError(`Cannot decode varint at byte ${at}: truncated`);
    const b = buf[i++];
    v |= BigInt(b & 127) << shift;
    if (!(b & 128)) return { value: v, next: i };
    shift += 7n;
    if (shift > 63n) throw new ProtoError(`Cannot decode varint at byte ${at}: longer than 10 bytes`);
  }
}

/** The fields of one message, in the order they appear (repeated fields appear once per value). */
export function decodeMessage(buf: Uint8Array): WireField[] {
  const out: WireField[] = [];
  let at = 0;
  while (at < buf.length) {
    const t = decodeVarint(buf, at);
    const field = Number(t.value >> 3n), wire = Number(t.value & 7n);
    at = t.next;
    const take = (n: number) => {
      if (at + n > buf.length) throw new ProtoError(`Cannot decode field ${field}: ${n} bytes needed, ${buf.length - at} left`);
      const v = buf.subarray(at, at + n);
      at += n;
      return v;
    };
    if (wire === WIRE_VARINT) {
      const v = decodeVarint(buf, at);
      at = v.next;
      out.push({ field, wire: "varint", value: v.value });
    } else if (wire === WIRE_I64) out.push({ field, wire: "i64", value: take(8) });
    else if (wire === WIRE_I32) out.push({ field, wire: "i32", value: take(4) });
    else if (wire === WIRE_LEN) {
      const n = decodeVarint(buf, at);
      at = n.next;
      out.push({ field, wire: "len", value: take(Number(n.value)) });
    } else throw new ProtoError(`Cannot decode field ${field}: unsupported wire type ${wire}`);
  }
  return out;
}

/** Values of a packed repeated varint field's payload. */
export function decodePackedVarints(payload: Uint8Array): bigint[] {
  const out: bigint[] = [];
  for (let at = 0; at < payload.length;) {
    const v = decodeVarint(payload, at);
    out.push(v.value);
    at = v.next;
  }
  return out;
}
