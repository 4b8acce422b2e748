/**
 * toBinaryDeterministic writes what C++ SerializeToStringDeterministic writes: maps sorted by key
 * at every depth, whatever order they were filled in. (The export tests check the consequence end
 * to end: TensorFlow's own fingerprint of an exported SavedModel equals ours.)
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import { create, toBinary } from "@bufbuild/protobuf";
import { toBinaryDeterministic } from "../../formats/deterministic.ts";
import { FunctionDefSchema } from "../../formats/protos/tensorflow/core/framework/function_pb.ts";
import { NodeDefSchema } from "../../formats/protos/tensorflow/core/framework/node_def_pb.ts";

const hex = (b: Uint8Array) => Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");

Deno.test("toBinaryDeterministic sorts a NodeDef's attrs bytewise, as TensorFlow's C++ serializer does", () => {
  // python: NodeDef(name="mm", op="BatchMatMulV2", attr={"adj_y": b=True, "T": type=DT_FLOAT}) serialized by C++
  // (upb's deterministic mode agrees here: string keys): T (0x54) sorts before adj_y (0x61).
  const node = create(NodeDefSchema, {
    name: "mm",
    op: "BatchMatMulV2",
    input: ["x", "w:0"],
    attr: { adj_y: { value: { case: "b", value: true } }, T: { value: { case: "type", value: 1 } } },
  });
  assert.equal(
    hex(toBinaryDeterministic(NodeDefSchema, node)),
    "0a026d6d120d42617463684d61744d756c56321a01781a03773a302a070a0154120230012a0b0a0561646a5f7912022801",
  );
});

Deno.test("toBinaryDeterministic output does not depend on the order maps were filled in (nested maps too)", () => {
  const names = fc.uniqueArray(fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_]{0,6}$/), {
    minLength: 1,
    maxLength: 8,
  });
  fc.assert(
    fc.property(names, fc.array(fc.nat(), { minLength: 8, maxLength: 8 }), (keys, order) => {
      const shuffled = [...keys].sort((a, b) =>
        order[keys.indexOf(a) % 8] - order[keys.indexOf(b) % 8] || (a < b ? -1 : 1)
      );
      const build = (ks: string[]) =>
        create(FunctionDefSchema, {
          attr: Object.fromEntries(
            ks.map((k) => [k, { value: { case: "s" as const, value: new TextEncoder().encode(k) } }]),
          ),
          argAttr: Object.fromEntries(
            ks.map((_, i) => [ks.length - i, { attr: Object.fromEntries(ks.map((k) => [k, {}])) }]),
          ),
          ret: Object.fromEntries([...ks].reverse().map((k) => [k, `${k}:output:0`])),
        });
      const a = toBinaryDeterministic(FunctionDefSchema, build(keys));
      const b = toBinaryDeterministic(FunctionDefSchema, build(shuffled));
      assert.equal(hex(a), hex(b));
    }),
    { numRuns: 100, seed: 15 },
  );
});

Deno.test("plain toBinary keeps insertion order, so the sort is what makes the bytes canonical", () => {
  const node = (keys: string[]) =>
    create(NodeDefSchema, { attr: Object.fromEntries(keys.map((k) => [k, {}])) });
  assert.notEqual(
    hex(toBinary(NodeDefSchema, node(["b", "a"]))),
    hex(toBinary(NodeDefSchema, node(["a", "b"]))),
  );
  assert.equal(
    hex(toBinaryDeterministic(NodeDefSchema, node(["b", "a"]))),
    hex(toBinary(NodeDefSchema, node(["a", "b"]))),
  );
});
