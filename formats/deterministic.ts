/**
 * Protobuf's deterministic serialization, as C++ `SerializeToStringDeterministic` writes it and as
 * TensorFlow hashes it (fingerprint.pb): fields in field-number order (what `toBinary` of
 * @bufbuild/protobuf already does) and every map's entries sorted by key, at every depth. Map
 * order is the only freedom the wire format leaves, so two equal messages serialize to the same
 * bytes, whatever order their maps were filled in.
 *
 * One limit: JavaScript objects list integer-like keys ("0", "7", "10") first and in numeric order,
 * so a map<string, …> mixing such keys with others cannot follow C++'s bytewise order. TensorFlow's
 * string maps are keyed by names (attrs, signature inputs, function names), which are never such.
 */
import { type DescMessage, type MessageShape, ScalarType, toBinary } from "@bufbuild/protobuf";

const utf8 = new TextEncoder();

function compareKeys(a: string, b: string, numeric: boolean): number {
  if (numeric) return Number(BigInt(a) - BigInt(b)) || 0;
  const [x, y] = [utf8.encode(a), utf8.encode(b)];
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i] - y[i];
  return x.length - y.length;
}

// deno-lint-ignore no-explicit-any
type Plain = Record<string, any>;

/** Re-inserts every map's entries of `msg` (and of its sub-messages) in key order; returns `msg`. */
export function sortMaps<T extends Plain>(desc: DescMessage, msg: T): T {
  for (const f of desc.fields) {
    let value: unknown;
    if (f.oneof) {
      const o = msg[f.oneof.localName];
      value = o?.case === f.localName ? o.value : undefined;
    } else value = msg[f.localName];
    if (value === undefined || value === null) continue;
    switch (f.fieldKind) {
      case "message":
        sortMaps(f.message, value as Plain);
        break;
      case "list":
        if (f.listKind === "message") { for (const m of value as Plain[]) sortMaps(f.message, m); }
        break;
      case "map": {
        const record = value as Plain;
        const numeric = f.mapKey !== ScalarType.STRING && f.mapKey !== ScalarType.BOOL;
        const keys = Object.keys(record).sort((a, b) => compareKeys(a, b, numeric));
        const entries = keys.map((k) => [k, record[k]] as const);
        for (const k of keys) delete record[k];
        for (const [k, v] of entries) {
          if (f.mapKind === "message") sortMaps(f.message, v as Plain);
          record[k] = v;
        }
        break;
      }
      default:
        break;
    }
  }
  return msg;
}

/** `toBinary` with every map sorted by key: C++'s deterministic serialization of `msg`. */
export function toBinaryDeterministic<Desc extends DescMessage>(
  desc: Desc,
  msg: MessageShape<Desc>,
): Uint8Array {
  return toBinary(desc, sortMaps(desc, msg as Plain) as MessageShape<Desc>);
}
