import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import {
  decodeExample,
  decodeRecords,
  encodeExample,
  encodeRecord,
  type Feature,
  TFRecordError,
} from "../../formats/tfrecord.ts";

await setBackend("wasm");

const hex = (s: string) => Uint8Array.from(s.match(/../g)!.map((b) => parseInt(b, 16)));
const utf8 = (s: string) => new TextEncoder().encode(s);

// Written by TensorFlow 2.21: tf.io.TFRecordWriter with records b"hello" and b"".
const TF_FILE = hex("0500000000000000eab2043e68656c6c6fbb1f1c19000000000000000029039807d8ea82a2");
// tf.train.Example({f: FloatList[1.5, -2.25], i: Int64List[0, 300, -1], b: BytesList[b"ab", b""]}).SerializeToString()
const TF_EXAMPLE = hex(
  "0a3a0a110a0166120c120a0a080000c03f000010c00a0d0a016212080a060a0261620a000a160a016912111a0f0a0d00ac02ffffffffffffffffff01",
);

Deno.test("encodeRecord() frames records byte for byte as tf.io.TFRecordWriter", () => {
  const ours = new Uint8Array([...encodeRecord(utf8("hello")), ...encodeRecord(new Uint8Array(0))]);
  assert.deepEqual(ours, TF_FILE);
  assert.deepEqual(decodeRecords(TF_FILE).map((r) => new TextDecoder().decode(r)), ["hello", ""]);
});

Deno.test("decodeRecords() inverts encodeRecord() over any sequence of records", () => {
  fc.assert(
    fc.property(fc.array(fc.uint8Array({ maxLength: 300 }), { maxLength: 8 }), (records) => {
      const file = new Uint8Array(records.flatMap((r) => [...encodeRecord(r)]));
      assert.deepEqual(decodeRecords(file), records);
    }),
    { numRuns: 200, seed: 3 },
  );
});

Deno.test("decodeRecords() fails with a TFRecordError on any flipped byte or truncation", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: 1, maxLength: 64 }),
      fc.nat(),
      fc.integer({ min: 1, max: 255 }),
      (data, at, flip) => {
        const file = encodeRecord(data);
        const corrupt = file.slice();
        corrupt[at % file.length] ^= flip;
        assert.throws(
          () => decodeRecords(corrupt),
          (e) => e instanceof TFRecordError && /corrupted|truncated/.test(e.message),
        );
        // any non-empty proper prefix is a truncated record (the empty file is a valid file of 0 records)
        assert.throws(() => decodeRecords(file.subarray(0, 1 + (at % (file.length - 1)))), TFRecordError);
      },
    ),
    { numRuns: 300, seed: 4 },
  );
});

Deno.test("decodeExample() reads an Example serialized by TensorFlow, negatives and empty bytes included", () => {
  const f = decodeExample(TF_EXAMPLE);
  assert.deepEqual([...(f.f.value as Float32Array)], [1.5, -2.25]);
  assert.deepEqual([...(f.i.value as number[])], [0, 300, -1]);
  assert.deepEqual((f.b.value as Uint8Array[]).map((b) => [...b]), [[0x61, 0x62], []]);
  // ours writes the same features (keys sorted), which read back identically
  assert.deepEqual(decodeExample(encodeExample(f)), f);
});

const feature: fc.Arbitrary<Feature> = fc.oneof(
  fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 4 }).map((value) => ({
    kind: "bytes" as const,
    value,
  })),
  fc.array(fc.float({ noNaN: true }), { maxLength: 20 }).map((v) => ({
    kind: "float" as const,
    value: Float32Array.from(v),
  })),
  fc.array(fc.maxSafeInteger(), { maxLength: 20 }).map((value) => ({ kind: "int64" as const, value })),
);

Deno.test("decodeExample() inverts encodeExample() for bytes, float and int64 features", () => {
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 12 }), feature, { maxKeys: 6 }),
      (features) => {
        const back = decodeExample(encodeExample(features));
        assert.deepEqual(Object.keys(back).sort(), Object.keys(features).sort());
        for (const [k, f] of Object.entries(features)) {
          // an empty list reads back as an empty feature of unknown kind, as in TensorFlow
          if (f.value.length === 0) continue;
          assert.equal(back[k].kind, f.kind);
          assert.deepEqual([...back[k].value as ArrayLike<unknown> as unknown[]], [
            ...f.value as ArrayLike<unknown> as unknown[],
          ]);
        }
      },
    ),
    { numRuns: 200, seed: 5 },
  );
});
