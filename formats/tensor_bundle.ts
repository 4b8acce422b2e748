/**
 * TensorFlow's TensorBundle (the V2 checkpoint format, tensorflow/core/util/tensor_bundle): a
 * `<prefix>.index` sorted table mapping each key to a BundleEntryProto (dtype, shape, offset, size,
 * masked CRC-32C), and a `<prefix>.data-00000-of-00001` shard holding the tensors' bytes back to back.
 * Written byte for byte as TF 2.21's SaveV2 writes it for the same tensors given in the same order:
 * data in the order of `entries`, index keys sorted bytewise, key "" holding the BundleHeaderProto.
 * Checkpoints (train/checkpoint.ts) and SavedModel variables (export/) both use it.
 *
 * Values are little-endian row-major; bool is one byte per element, bfloat16 is passed as its raw
 * bytes (two per element, little-endian), string tensors as one byte array per element.
 */
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { crc32c, maskCrc } from "./crc32c.ts";
import { buildTable, byteSink, byteSource, compareBytes, readTable, TableError } from "./_sstable.ts";
import { DataType } from "./protos/tensorflow/core/framework/types_pb.ts";
import {
  type BundleEntryProto,
  BundleEntryProtoSchema,
  BundleHeaderProto_Endianness,
  BundleHeaderProtoSchema,
} from "./protos/tensorflow/core/protobuf/tensor_bundle_pb.ts";

export type BundleDtype = "float32" | "int32" | "int64" | "uint32" | "bool" | "string" | "bfloat16";

export type BundleEntry = {
  key: string;
  dtype: BundleDtype;
  shape: number[];
  data: Float32Array | Int32Array | BigInt64Array | Uint32Array | Uint8Array | Uint8Array[];
};

export type BundleErrorKind =
  | "missing" // a file does not exist
  | "truncated" // a file ends before the data it promises
  | "bad_magic" // the index is not an sstable
  | "checksum" // a block or an entry's bytes do not match their stored CRC
  | "malformed" // the bytes parse to something impossible
  | "unsupported" // valid TF, but outside this reader (sliced/partitioned entries, other dtypes, snappy)
  | "invalid_entry"; // writeBundle was given an entry whose data does not fit its dtype and shape

/** A bundle that cannot be read or written; names the file, the entry key if any, and why. */
export class BundleError extends Error {
  override readonly name = "BundleError";
  constructor(
    readonly kind: BundleErrorKind,
    readonly file: string,
    readonly key: string | undefined,
    readonly reason: string,
  ) {
    const at = key === undefined ? "" : ` entry '${key}'`;
    super(`Cannot ${kind === "invalid_entry" ? "write" : "read"} bundle '${file}'${at}: ${reason}`);
  }
}

/** DataType enum values and bytes per element; string has no fixed size. */
const DTYPES: Record<BundleDtype, { code: DataType; bytes: number }> = {
  float32: { code: DataType.DT_FLOAT, bytes: 4 },
  int32: { code: DataType.DT_INT32, bytes: 4 },
  string: { code: DataType.DT_STRING, bytes: 0 },
  int64: { code: DataType.DT_INT64, bytes: 8 },
  bool: { code: DataType.DT_BOOL, bytes: 1 },
  bfloat16: { code: DataType.DT_BFLOAT16, bytes: 2 },
  uint32: { code: DataType.DT_UINT32, bytes: 4 },
};
const BY_CODE = new Map(Object.entries(DTYPES).map(([name, d]) => [d.code, name as BundleDtype]));

/** Header {num_shards: 1, endianness: LITTLE (default), version {producer: 1}}: what SaveV2 writes. */
const HEADER = toBinary(
  BundleHeaderProtoSchema,
  create(BundleHeaderProtoSchema, { numShards: 1, version: { producer: 1 } }),
);

function encodeEntry(
  dtype: DataType,
  shape: readonly number[],
  offset: number,
  size: number,
  crc: number,
): Uint8Array {
  const entry = create(BundleEntryProtoSchema, {
    dtype,
    shape: { dim: shape.map((d) => ({ size: BigInt(d) })) },
    offset: BigInt(offset),
    size: BigInt(size),
    crc32c: maskCrc(crc),
  });
  return toBinary(BundleEntryProtoSchema, entry);
}

/** Parses a protobuf value of the index; a malformed one is a BundleError naming the file and key. */
function parse<T>(file: string, key: string | undefined, what: string, decode: () => T): T {
  try {
    return decode();
  } catch (e) {
    throw new BundleError("malformed", file, key, `bad ${what} (${(e as Error).message})`);
  }
}

const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder();
const numElements = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

export const indexPath = (prefix: string) => `${prefix}.index`;
export const dataPath = (prefix: string, shard = 0, shards = 1) =>
  `${prefix}.data-${String(shard).padStart(5, "0")}-of-${String(shards).padStart(5, "0")}`;

// ---------------------------------------------------------------------------------------------
// Tensor bytes

/** The bytes an entry occupies in the data file, and the CRC-32C TF stores (unmasked). */
function encodeData(prefix: string, e: BundleEntry): { chunks: Uint8Array[]; size: number; crc: number } {
  const fail = (reason: string): never => {
    throw new BundleError("invalid_entry", prefix, e.key, reason);
  };
  const spec = DTYPES[e.dtype] ?? fail(`unknown dtype '${e.dtype}'`);
  if (!e.shape.every((d) => Number.isSafeInteger(d) && d >= 0)) fail(`bad shape [${e.shape}]`);
  const n = numElements(e.shape);
  if (e.dtype === "string") {
    const items = Array.isArray(e.data) ? e.data : fail("a string tensor needs an array of Uint8Array");
    if (items.length !== n) fail(`shape [${e.shape}] has ${n} elements, got ${items.length} strings`);
    return encodeStrings(items);
  }
  const expected = {
    float32: Float32Array,
    int32: Int32Array,
    int64: BigInt64Array,
    uint32: Uint32Array,
    bool: Uint8Array,
    bfloat16: Uint8Array,
  }[e.dtype];
  const data = e.data as Exclude<BundleEntry["data"], Uint8Array[]>;
  if (!(data instanceof expected)) {
    fail(`dtype ${e.dtype} needs a ${expected.name}, got ${e.data.constructor.name}`);
  }
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (bytes.length !== n * spec.bytes) {
    fail(`shape [${e.shape}] of ${e.dtype} needs ${n * spec.bytes} bytes, got ${bytes.length}`);
  }
  return { chunks: [bytes], size: bytes.length, crc: crc32c(bytes) };
}

/**
 * DT_STRING (tensor_bundle.cc WriteStringTensor): varint64 lengths, the masked CRC of the lengths
 * (each as uint32 LE), then the bytes. The entry CRC runs over the uint32 lengths, the 4 checksum
 * bytes as written, then the string bytes.
 */
function encodeStrings(items: readonly Uint8Array[]): { chunks: Uint8Array[]; size: number; crc: number } {
  const lengths = byteSink();
  const len32 = new Uint8Array(4);
  let crc = 0;
  for (const s of items) {
    lengths.varint(s.length);
    new DataView(len32.buffer).setUint32(0, s.length, true);
    crc = crc32c(len32, crc);
  }
  const checksum = new Uint8Array(4);
  new DataView(checksum.buffer).setUint32(0, maskCrc(crc), true);
  crc = crc32c(checksum, crc);
  for (const s of items) crc = crc32c(s, crc);
  const head = lengths.result();
  const size = head.length + 4 + items.reduce((a, s) => a + s.length, 0);
  return { chunks: [head, checksum, ...items], size, crc };
}

function decodeData(
  file: string,
  key: string,
  dtype: BundleDtype,
  n: number,
  bytes: Uint8Array,
): BundleEntry["data"] {
  const fail = (reason: string): never => {
    throw new BundleError("malformed", file, key, reason);
  };
  if (dtype === "string") {
    const src = byteSource(bytes);
    const lengths = Array.from({ length: n }, () => src.varint());
    const stored = src.fixed32();
    let crc = 0;
    const len32 = new Uint8Array(4);
    for (const l of lengths) {
      new DataView(len32.buffer).setUint32(0, l, true);
      crc = crc32c(len32, crc);
    }
    if (maskCrc(crc) !== stored) {
      throw new BundleError("checksum", file, key, "string lengths checksum mismatch");
    }
    return lengths.map((l) => src.take(l).slice());
  }
  const size = DTYPES[dtype].bytes;
  if (bytes.length !== n * size) {
    fail(`${n} elements of ${dtype} need ${n * size} bytes, entry has ${bytes.length}`);
  }
  const copy = bytes.slice().buffer; // aligned, and detached from the file buffer
  switch (dtype) {
    case "float32":
      return new Float32Array(copy);
    case "int32":
      return new Int32Array(copy);
    case "int64":
      return new BigInt64Array(copy);
    case "uint32":
      return new Uint32Array(copy);
    case "bool":
    case "bfloat16":
      return new Uint8Array(copy);
  }
}

// ---------------------------------------------------------------------------------------------
// Files

async function writeFileSynced(path: string, chunks: Iterable<Uint8Array>): Promise<void> {
  const file = await Deno.open(path, { write: true, create: true, truncate: true });
  try {
    for (const chunk of chunks) {
      for (let done = 0; done < chunk.length;) done += await file.write(chunk.subarray(done));
    }
    await file.syncData();
  } finally {
    file.close();
  }
}

/**
 * Writes `<prefix>.index` and `<prefix>.data-00000-of-00001`. Each is written to a temporary name,
 * synced and renamed over the old one (data first), so a crash never leaves a half-written file
 * under the final name; for two files that change together, write into a fresh directory and rename
 * that (train/checkpoint.ts does).
 */
export async function writeBundle(prefix: string, entries: BundleEntry[]): Promise<void> {
  const keyed = entries.map((e) => ({ e, key: utf8.encode(e.key), ...encodeData(prefix, e) }));
  const sorted = [...keyed].sort((a, b) => compareBytes(a.key, b.key));
  for (const [i, { e, key }] of sorted.entries()) {
    if (key.length === 0) {
      throw new BundleError("invalid_entry", prefix, e.key, "the empty key is reserved for the header");
    }
    if (i > 0 && compareBytes(sorted[i - 1].key, key) === 0) {
      throw new BundleError("invalid_entry", prefix, e.key, "key appears twice");
    }
  }
  const index = new Map<(typeof keyed)[number], Uint8Array>();
  let offset = 0;
  for (const k of keyed) { // data in the order given, as SaveV2 writes its tensors
    index.set(k, encodeEntry(DTYPES[k.e.dtype].code, k.e.shape, offset, k.size, k.crc));
    offset += k.size;
  }
  const table = buildTable([
    [new Uint8Array(0), HEADER] as const,
    ...sorted.map((k) => [k.key, index.get(k)!] as const),
  ]);
  const tag = `.tempstate${crypto.randomUUID().replaceAll("-", "")}`;
  const [data, idx] = [dataPath(prefix), indexPath(prefix)];
  try {
    await writeFileSynced(data + tag, keyed.flatMap((k) => k.chunks));
    await writeFileSynced(idx + tag, [table]);
    await Deno.rename(data + tag, data);
    await Deno.rename(idx + tag, idx);
  } finally {
    for (const p of [data + tag, idx + tag]) await Deno.remove(p).catch(() => {});
  }
}

async function readFile(path: string, key?: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) throw new BundleError("missing", path, key, "file not found");
    throw e;
  }
}

/** Reads every entry of a bundle, checking block CRCs, each entry's data CRC and sizes. */
export async function readBundle(prefix: string): Promise<Map<string, BundleEntry>> {
  const idxFile = indexPath(prefix);
  let table: [Uint8Array, Uint8Array][];
  try {
    table = readTable(await readFile(idxFile));
  } catch (e) {
    if (e instanceof TableError) throw new BundleError(e.kind, idxFile, undefined, e.message);
    throw e;
  }
  if (table.length === 0 || table[0][0].length !== 0) {
    throw new BundleError("malformed", idxFile, undefined, 'no header entry (key "")');
  }
  const header = parse(
    idxFile,
    undefined,
    "BundleHeaderProto",
    () => fromBinary(BundleHeaderProtoSchema, table[0][1]),
  );
  if (header.endianness !== BundleHeaderProto_Endianness.LITTLE) {
    throw new BundleError("unsupported", idxFile, undefined, "big-endian bundle");
  }
  const shards = header.numShards;
  const files = new Map<number, Uint8Array>();
  const out = new Map<string, BundleEntry>();
  for (const [rawKey, value] of table.slice(1)) {
    const key = fromUtf8.decode(rawKey);
    const e: BundleEntryProto = parse(
      idxFile,
      key,
      "BundleEntryProto",
      () => fromBinary(BundleEntryProtoSchema, value),
    );
    if (e.shape?.unknownRank) throw new BundleError("malformed", idxFile, key, "shape has unknown rank");
    const shape = (e.shape?.dim ?? []).map((d) => Number(d.size));
    const [shard, offset, size] = [e.shardId, Number(e.offset), Number(e.size)];
    const dtype = BY_CODE.get(e.dtype);
    if (!dtype) {
      throw new BundleError(
        "unsupported",
        idxFile,
        key,
        `dtype enum ${e.dtype} is not one of ${Object.keys(DTYPES)}`,
      );
    }
    if (e.slices.length > 0) {
      throw new BundleError("unsupported", idxFile, key, "entry is a partitioned (sliced) variable");
    }
    if (shard >= shards) throw new BundleError("malformed", idxFile, key, `shard ${shard} of ${shards}`);
    const path = dataPath(prefix, shard, shards);
    if (!files.has(shard)) files.set(shard, await readFile(path, key));
    const file = files.get(shard)!;
    if (offset + size > file.length) {
      throw new BundleError(
        "truncated",
        path,
        key,
        `needs bytes [${offset}, ${offset + size}) of a ${file.length}-byte file`,
      );
    }
    const bytes = file.subarray(offset, offset + size);
    const n = numElements(shape);
    let crc = 0;
    if (dtype === "string") {
      // The entry CRC covers the lengths as uint32, not as the varints on disk.
      const src = byteSource(bytes);
      const len32 = new Uint8Array(4);
      try {
        for (let i = 0; i < n; i++) {
          new DataView(len32.buffer).setUint32(0, src.varint(), true);
          crc = crc32c(len32, crc);
        }
      } catch {
        throw new BundleError("malformed", path, key, "string lengths run past the entry");
      }
      crc = crc32c(bytes.subarray(src.pos), crc);
    } else crc = crc32c(bytes);
    if (maskCrc(crc) !== e.crc32c) {
      throw new BundleError(
        "checksum",
        path,
        key,
        `data checksum mismatch: stored 0x${hex(e.crc32c)}, computed 0x${hex(maskCrc(crc))}`,
      );
    }
    let data: BundleEntry["data"];
    try {
      data = decodeData(path, key, dtype, n, bytes);
    } catch (err) {
      if (err instanceof TableError) throw new BundleError("malformed", path, key, err.message);
      throw err;
    }
    out.set(key, { key, dtype, shape, data });
  }
  return out;
}

const hex = (n: number) => n.toString(16).padStart(8, "0");
