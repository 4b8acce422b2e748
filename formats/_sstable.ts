/**
 * The sorted string table that TensorFlow uses for a TensorBundle's `.index` file: LevelDB's table
 * format without filter blocks (tsl/lib/io/table_builder.cc, block_builder.cc, format.cc). Private to
 * formats/tensor_bundle.ts. The builder follows TF's choices byte for byte (restart interval 16 in
 * data blocks and 1 in the index block, 256 KiB blocks, no compression, an empty metaindex block,
 * shortest separators as index keys), so a table written here equals the one TF writes.
 */
import { crc32c, maskCrc } from "./crc32c.ts";

const BLOCK_SIZE = 262144; // TableOptions::block_size
const RESTART_INTERVAL = 16; // TableOptions::block_restart_interval
const TRAILER = 5; // type byte + masked crc
const FOOTER = 48; // two block handles padded to 40 bytes + 8-byte magic
const MAGIC_LO = 0x8b80fb57;
const MAGIC_HI = 0xdb477524;

/** Why a table could not be read; tensor_bundle.ts turns it into a BundleError. */
export class TableError extends Error {
  override readonly name = "TableError";
  constructor(
    readonly kind: "truncated" | "bad_magic" | "checksum" | "malformed" | "unsupported",
    reason: string,
  ) {
    super(reason);
  }
}

export type ByteSink = ReturnType<typeof byteSink>;

/** A growable byte buffer with the little-endian and varint writers the formats need. */
export function byteSink() {
  let buf = new Uint8Array(256);
  let length = 0;
  const reserve = (n: number) => {
    if (length + n <= buf.length) return;
    const next = new Uint8Array(Math.max(buf.length * 2, length + n));
    next.set(buf.subarray(0, length));
    buf = next;
  };
  const byte = (b: number) => {
    reserve(1);
    buf[length++] = b;
  };
  return {
    get length() {
      return length;
    },
    byte,
    bytes(b: Uint8Array): void {
      reserve(b.length);
      buf.set(b, length);
      length += b.length;
    },
    fixed32(v: number): void {
      reserve(4);
      new DataView(buf.buffer).setUint32(length, v >>> 0, true);
      length += 4;
    },
    /** Unsigned varint of a non-negative safe integer, or of a bigint (negative int64: ten bytes). */
    varint(v: number | bigint): void {
      let x = BigInt.asUintN(64, BigInt(v));
      while (x >= 0x80n) {
        byte(Number(x & 0x7fn) | 0x80);
        x >>= 7n;
      }
      byte(Number(x));
    },
    result: (): Uint8Array => buf.slice(0, length),
  };
}

export type ByteSource = ReturnType<typeof byteSource>;

/** Reads varints and fixed32s from buf[start, end), failing with a TableError past the end. */
export function byteSource(buf: Uint8Array, start = 0, end = buf.length) {
  let pos = start;
  const view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const next = () => {
    if (pos >= end) throw new TableError("malformed", "varint runs past the end of its block");
    return buf[pos++];
  };
  return {
    get pos() {
      return pos;
    },
    get done() {
      return pos >= end;
    },
    /** Varint as a number; exact up to 2^53, which covers every offset, size and dimension here. */
    varint(): number {
      let result = 0;
      for (let i = 0, scale = 1; i < 10; i++, scale *= 128) {
        const b = next();
        result += (b & 0x7f) * scale;
        if (b < 0x80) return result;
      }
      throw new TableError("malformed", "varint longer than 10 bytes");
    },
    /** Varint as a signed int64 (protobuf int64 fields, where -1 takes ten bytes). */
    varint64(): bigint {
      let result = 0n;
      for (let i = 0n; i < 10n; i++) {
        const b = next();
        result |= BigInt(b & 0x7f) << (7n * i);
        if (b < 0x80) return BigInt.asIntN(64, result);
      }
      throw new TableError("malformed", "varint longer than 10 bytes");
    },
    fixed32(): number {
      if (pos + 4 > end) throw new TableError("malformed", "fixed32 runs past the end of its block");
      pos += 4;
      return view.getUint32(pos - 4, true);
    },
    take(n: number): Uint8Array {
      if (pos + n > end) throw new TableError("malformed", `${n} bytes run past the end of their block`);
      pos += n;
      return buf.subarray(pos - n, pos);
    },
  };
}

/** Compares byte strings as unsigned bytes: the order of keys in the table. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** BlockBuilder: prefix-compressed entries, a full key every `interval` entries, then the restarts. */
function blockBuilder(interval: number) {
  let buf = byteSink();
  let restarts = [0];
  let counter = 0;
  let lastKey: Uint8Array = new Uint8Array(0);
  return {
    add(key: Uint8Array, value: Uint8Array): void {
      let shared = 0;
      if (counter < interval) {
        const n = Math.min(lastKey.length, key.length);
        while (shared < n && lastKey[shared] === key[shared]) shared++;
      } else {
        restarts.push(buf.length);
        counter = 0;
      }
      buf.varint(shared);
      buf.varint(key.length - shared);
      buf.varint(value.length);
      buf.bytes(key.subarray(shared));
      buf.bytes(value);
      lastKey = key;
      counter++;
    },
    sizeEstimate: () => buf.length + restarts.length * 4 + 4,
    empty: () => buf.length === 0,
    finish(): Uint8Array {
      for (const r of restarts) buf.fixed32(r);
      buf.fixed32(restarts.length);
      const out = buf.result();
      buf = byteSink();
      restarts = [0];
      counter = 0;
      lastKey = new Uint8Array(0);
      return out;
    },
  };
}

/** A key k with last <= k < next, as short as TF makes it (table_builder.cc FindShortestSeparator). */
function shortestSeparator(last: Uint8Array, next: Uint8Array): Uint8Array {
  const n = Math.min(last.length, next.length);
  let i = 0;
  while (i < n && last[i] === next[i]) i++;
  if (i >= n) return last; // one is a prefix of the other
  if (last[i] < 0xff && last[i] + 1 < next[i]) {
    const out = last.slice(0, i + 1);
    out[i]++;
    return out;
  }
  return last;
}

/** A short key >= last (FindShortSuccessor): first non-0xff byte incremented, the rest dropped. */
function shortSuccessor(last: Uint8Array): Uint8Array {
  const i = last.findIndex((b) => b !== 0xff);
  if (i < 0) return last;
  const out = last.slice(0, i + 1);
  out[i]++;
  return out;
}

/** Serialises sorted, distinct (key, value) pairs as a complete table file. */
export function buildTable(entries: Iterable<readonly [Uint8Array, Uint8Array]>): Uint8Array {
  const file = byteSink();
  const data = blockBuilder(RESTART_INTERVAL);
  const index = blockBuilder(1);
  let pending: { offset: number; size: number } | null = null;
  let lastKey: Uint8Array | null = null;

  const writeBlock = (contents: Uint8Array) => {
    const handle = { offset: file.length, size: contents.length };
    file.bytes(contents);
    file.byte(0); // kNoCompression
    file.fixed32(maskCrc(crc32c(new Uint8Array([0]), crc32c(contents))));
    return handle;
  };
  const handleBytes = (h: { offset: number; size: number }) => {
    const s = byteSink();
    s.varint(h.offset);
    s.varint(h.size);
    return s.result();
  };

  for (const [key, value] of entries) {
    if (lastKey && compareBytes(lastKey, key) >= 0) {
      throw new Error("buildTable: keys must be strictly ascending");
    }
    if (pending && lastKey) {
      index.add(shortestSeparator(lastKey, key), handleBytes(pending));
      pending = null;
    }
    lastKey = key;
    data.add(key, value);
    if (data.sizeEstimate() >= BLOCK_SIZE) pending = writeBlock(data.finish());
  }
  // Finish(): flush the last data block unless it is empty (a flush right after a full block).
  if (!data.empty()) pending = writeBlock(data.finish());
  const metaindex = writeBlock(blockBuilder(RESTART_INTERVAL).finish());
  if (pending && lastKey) index.add(shortSuccessor(lastKey), handleBytes(pending));
  const indexHandle = writeBlock(index.finish());

  const footer = byteSink();
  footer.varint(metaindex.offset);
  footer.varint(metaindex.size);
  footer.varint(indexHandle.offset);
  footer.varint(indexHandle.size);
  while (footer.length < 40) footer.byte(0);
  footer.fixed32(MAGIC_LO);
  footer.fixed32(MAGIC_HI);
  file.bytes(footer.result());
  return file.result();
}

/** Reads the block at a handle and checks its trailer (type byte and masked CRC-32C). */
function readBlock(file: Uint8Array, offset: number, size: number, what: string): Uint8Array {
  if (offset + size + TRAILER > file.length) {
    throw new TableError(
      "truncated",
      `${what} at byte ${offset} (+${size}) ends past the end of the ${file.length}-byte file`,
    );
  }
  const contents = file.subarray(offset, offset + size);
  const type = file[offset + size];
  const stored = new DataView(file.buffer, file.byteOffset).getUint32(offset + size + 1, true);
  const actual = maskCrc(crc32c(file.subarray(offset + size, offset + size + 1), crc32c(contents)));
  if (stored !== actual) {
    throw new TableError(
      "checksum",
      `${what} checksum mismatch: stored 0x${hex(stored)}, computed 0x${hex(actual)}`,
    );
  }
  if (type === 1) {
    throw new TableError("unsupported", `${what} is snappy-compressed, which this reader does not support`);
  }
  if (type !== 0) throw new TableError("malformed", `${what} has bad block type ${type}`);
  return contents;
}

const hex = (n: number) => n.toString(16).padStart(8, "0");

/** The entries of one block, keys rebuilt from their shared prefixes. */
function* blockEntries(block: Uint8Array, what: string): Generator<[Uint8Array, Uint8Array]> {
  if (block.length < 4) {
    throw new TableError("malformed", `${what} is ${block.length} bytes, too short for its restart count`);
  }
  const numRestarts = new DataView(block.buffer, block.byteOffset).getUint32(block.length - 4, true);
  const end = block.length - 4 - 4 * numRestarts;
  if (numRestarts < 1 || end < 0) {
    throw new TableError("malformed", `${what} has a bad restart count ${numRestarts}`);
  }
  const src = byteSource(block, 0, end);
  let key = new Uint8Array(0);
  while (!src.done) {
    const shared = src.varint();
    const nonShared = src.varint();
    const valueLength = src.varint();
    if (shared > key.length) {
      throw new TableError("malformed", `${what} shares ${shared} bytes of a ${key.length}-byte key`);
    }
    const next = new Uint8Array(shared + nonShared);
    next.set(key.subarray(0, shared));
    next.set(src.take(nonShared), shared);
    key = next;
    yield [key, src.take(valueLength)];
  }
}

/** Every (key, value) of a table file, in order, after checking the footer and every block CRC. */
export function readTable(file: Uint8Array): [Uint8Array, Uint8Array][] {
  if (file.length < FOOTER) {
    throw new TableError("truncated", `file is ${file.length} bytes, shorter than the 48-byte footer`);
  }
  const footer = byteSource(file, file.length - FOOTER, file.length);
  const magic = new DataView(file.buffer, file.byteOffset + file.length - 8);
  if (magic.getUint32(0, true) !== MAGIC_LO || magic.getUint32(4, true) !== MAGIC_HI) {
    throw new TableError(
      "bad_magic",
      "not an sstable (bad magic number in the last 8 bytes: truncated, or not an index)",
    );
  }
  footer.varint(); // metaindex offset: TF never reads the metaindex block
  footer.varint();
  const indexOffset = footer.varint();
  const indexSize = footer.varint();
  const out: [Uint8Array, Uint8Array][] = [];
  let i = 0;
  for (
    const [, handle] of blockEntries(readBlock(file, indexOffset, indexSize, "index block"), "index block")
  ) {
    const h = byteSource(handle);
    const offset = h.varint();
    const size = h.varint();
    const what = `data block ${i++}`;
    for (const entry of blockEntries(readBlock(file, offset, size, what), what)) out.push(entry);
  }
  for (let j = 1; j < out.length; j++) {
    if (compareBytes(out[j - 1][0], out[j][0]) >= 0) {
      throw new TableError("malformed", "keys are not in ascending order");
    }
  }
  return out;
}
