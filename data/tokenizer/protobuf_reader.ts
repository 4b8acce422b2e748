/**
 * Just enough of the protobuf wire format to read a SentencePiece ModelProto: walks the fields of
 * one message, leaving nested messages as bytes for the caller to walk in turn. Unknown fields are
 * skipped by wire type, so newer .model files with extra fields still load.
 */

export type WireField =
  // varint: `value` exact below 2^53; `int32` its low 32 bits as a signed int32
  | { readonly field: number; readonly wire: 0; readonly value: number; readonly int32: number }
  | { readonly field: number; readonly wire: 1; readonly value: DataView } // fixed64
  | { readonly field: number; readonly wire: 2; readonly value: Uint8Array } // length-delimited
  | { readonly field: number; readonly wire: 5; readonly value: DataView }; // fixed32

export class ProtobufReadError extends Error {
  constructor(readonly offset: number, readonly reason: string) {
    super(`Cannot read protobuf at byte ${offset}: ${reason}`);
    this.name = "ProtobufReadError";
  }
}

/** Reads a varint at `pos`; values past 2^53 lose precision (no field read here needs them). */
function readVarint(bytes: Uint8Array, pos: number): [value: number, next: number, int32: number] {
  let value = 0, scale = 1, low = 0;
  for (let i = 0; i < 10; i++) {
    if (pos + i >= bytes.length) throw new ProtobufReadError(pos, "varint runs past the end");
    const b = bytes[pos + i];
    value += (b & 0x7f) * scale;
    if (i < 5) low |= (b & 0x7f) << (7 * i); // bits past 31 fall off the shift
    scale *= 128;
    if ((b & 0x80) === 0) return [value, pos + i + 1, low | 0];
  }
  throw new ProtobufReadError(pos, "varint longer than 10 bytes");
}

/** The fields of one message, in file order (repeated fields appear once per element). */
export function* wireFields(bytes: Uint8Array): Generator<WireField> {
  let pos = 0;
  while (pos < bytes.length) {
    const start = pos;
    const [key, afterKey] = readVarint(bytes, pos);
    const field = Math.floor(key / 8), wire = key % 8;
    pos = afterKey;
    if (field === 0) throw new ProtobufReadError(start, "field number 0");
    const need = (n: number) => {
      if (pos + n > bytes.length) {
        throw new ProtobufReadError(start, `field ${field} needs ${n} bytes past the end`);
      }
    };
    switch (wire) {
      case 0: {
        const [value, next, int32] = readVarint(bytes, pos);
        pos = next;
        yield { field, wire, value, int32 };
        break;
      }
      case 1:
        need(8);
        yield { field, wire, value: new DataView(bytes.buffer, bytes.byteOffset + pos, 8) };
        pos += 8;
        break;
      case 2: {
        const [length, next] = readVarint(bytes, pos);
        pos = next;
        need(length);
        yield { field, wire, value: bytes.subarray(pos, pos + length) };
        pos += length;
        break;
      }
      case 5:
        need(4);
        yield { field, wire, value: new DataView(bytes.buffer, bytes.byteOffset + pos, 4) };
        pos += 4;
        break;
      default:
        throw new ProtobufReadError(start, `unsupported wire type ${wire} for field ${field}`);
    }
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

export const asString = (f: WireField): string => f.wire === 2 ? utf8.decode(f.value) : "";
export const asBytes = (f: WireField): Uint8Array => f.wire === 2 ? f.value : new Uint8Array(0);
export const asFloat = (f: WireField): number => f.wire === 5 ? f.value.getFloat32(0, true) : 0;
/** an int32 field: negatives are stored as 10-byte two's complement varints (pad_id = -1) */
export const asInt = (f: WireField): number => f.wire === 0 ? f.int32 : 0;
export const asBool = (f: WireField): boolean => f.wire === 0 && f.value !== 0;
