import assert from "node:assert/strict";
import fc from "fast-check";
import * as pb from "../../formats/proto.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("proto encodes the protobuf documentation's examples byte for byte", () => {
  // https://protobuf.dev/programming-guides/encoding/
  assert.equal(hex(pb.varint(1, 150)), "089601");
  assert.equal(hex(pb.string(2, "testing")), "120774657374696e67");
  assert.equal(hex(pb.packedVarints(4, [3, 270, 86942])), "2206038e029ea705");
  assert.equal(hex(pb.sint(1, -2)), "0803");
  assert.equal(hex(pb.sint(1, 2147483647)), "08feffffff0f");
});

Deno.test("proto writes negative int64 as a 10-byte two's complement varint", () => {
  assert.equal(hex(pb.encodeVarint(-1)), "ffffffffffffffffff01");
  assert.equal(hex(pb.encodeVarint(-(1n << 63n))), "80808080808080808001");
  assert.equal(hex(pb.encodeVarint((1n << 64n) - 1n)), "ffffffffffffffffff01");
  assert.throws(() => pb.encodeVarint(1n << 64n), /outside 64 bits/);
  assert.throws(() => pb.encodeVarint(2 ** 60), /not a safe integer/);
});

Deno.test("proto output equals TensorFlow's own serialisation of NodeDef, TensorShapeProto and AttrValue", () => {
  // Expected bytes are python protobuf's SerializeToString(deterministic=True) under TF 2.21.
  const attr = (name: string, value: Uint8Array) => pb.bytes(5, pb.message(pb.string(1, name), pb.bytes(2, value)));
  const node = pb.message(
    pb.string(1, "mm"),
    pb.string(2, "BatchMatMulV2"),
    pb.string(3, "x"),
    pb.string(3, "w:0"),
    attr("T", pb.varint(6, 1)),
    attr("adj_y", pb.bool(5, true)),
  );
  assert.equal(hex(node), "0a026d6d120d42617463684d61744d756c56321a01781a03773a302a070a0154120230012a0b0a0561646a5f7912022801");
  const dim = (size: number) => pb.bytes(2, pb.varint(1, size));
  assert.equal(hex(pb.message(dim(-1), dim(300))), "120b08ffffffffffffffffff01120308ac02");
  assert.equal(hex(pb.bytes(1, pb.packedVarints(3, [1, 2, -3]))), "0a0e1a0c0102fdffffffffffffffff01");
  assert.equal(hex(pb.float(4, 0.5)), "250000003f");
});

Deno.test("proto leaves proto3 defaults out", () => {
  assert.equal(pb.varintIfSet(1, 0).length, 0);
  assert.equal(pb.varintIfSet(1, 0n).length, 0);
  assert.equal(pb.boolIfSet(1, false).length, 0);
  assert.equal(pb.stringIfSet(1, "").length, 0);
  assert.equal(pb.packedVarints(1, []).length, 0);
  assert.equal(hex(pb.varintIfSet(1, 3)), "0803");
});

Deno.test("proto decodes what it encodes, for any int64 and any bytes", () => {
  fc.assert(
    fc.property(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), fc.uint8Array({ maxLength: 300 }), fc.integer({ min: 1, max: 1 << 20 }), (v, b, field) => {
      const fields = pb.decodeMessage(pb.message(pb.varint(field, v), pb.bytes(field + 1, b), pb.sint(3, v)));
      assert.equal(fields.length, 3);
      assert.deepEqual(fields[0], { field, wire: "varint", value: BigInt.asUintN(64, v) });
      assert.equal(fields[1].field, field + 1);
      assert.deepEqual([...(fields[1].value as Uint8Array)], [...b]);
      const z = fields[2].value as bigint;
      assert.equal((z >> 1n) ^ -(z & 1n), v); // un-zigzag
    }),
    { numRuns: 200, seed: 11 },
  );
});

Deno.test("proto packed varints round-trip through decodePackedVarints", () => {
  fc.assert(
    fc.property(fc.array(fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }), { minLength: 1, maxLength: 40 }), (vs) => {
      const [f] = pb.decodeMessage(pb.packedVarints(7, vs));
      assert.deepEqual(pb.decodePackedVarints(f.value as Uint8Array), vs);
    }),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("proto rejects truncated input with the byte offset", () => {
  assert.throws(() => pb.decodeMessage(Uint8Array.of(0x12, 0x05, 1, 2)), /field 2: 5 bytes needed, 2 left/);
  assert.throws(() => pb.decodeMessage(Uint8Array.of(0x08, 0x96)), /truncated/);
});
