/**
 * The committed schemas and generated code under formats/protos are exactly what `deno task protos`
 * writes from the TensorFlow 2.21.0 and sentencepiece wheels, and they work under Deno.
 */
import assert from "node:assert/strict";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { DataType } from "../../formats/protos/tensorflow/core/framework/types_pb.ts";
import {
  NormalizerSpecSchema,
  TrainerSpecSchema,
} from "../../formats/protos/sentencepiece/sentencepiece_model_pb.ts";
import { BundleEntryProtoSchema } from "../../formats/protos/tensorflow/core/protobuf/tensor_bundle_pb.ts";

const root = new URL("../../", import.meta.url).pathname;
const committed = `${root}formats/protos`;

async function tree(dir: string, prefix = ""): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for await (const e of Deno.readDir(dir)) {
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory) { for (const [k, v] of await tree(`${dir}/${e.name}`, `${rel}/`)) out.set(k, v); }
    else if (rel !== "README.md") out.set(rel, await Deno.readTextFile(`${dir}/${e.name}`));
  }
  return out;
}

Deno.test("formats/protos is what `deno task protos` generates from the wheels (regenerate on any drift)", async () => {
  const tmp = await Deno.makeTempDir({ prefix: "protos_test_" });
  try {
    const r = await new Deno.Command(`${root}node_modules/.bin/deno`, {
      args: ["run", "-A", `${root}scripts/protos/generate.ts`, tmp],
      cwd: root,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    const [want, got] = [await tree(tmp), await tree(committed)];
    assert.deepEqual(
      [...got.keys()].sort(),
      [...want.keys()].sort(),
      "file lists differ: run `deno task protos`",
    );
    const stale = [...want.keys()].filter((k) => want.get(k) !== got.get(k));
    assert.deepEqual(stale, [], "stale generated files: run `deno task protos`");
  } finally {
    await Deno.remove(tmp, { recursive: true });
  }
});

Deno.test("the generated code encodes TensorFlow's worked BundleEntryProto byte for byte", () => {
  // savedmodel-format.md §2: key "w", float32 [2, 3], 24 bytes, masked crc 0xabf5eb7a
  const entry = create(BundleEntryProtoSchema, {
    dtype: DataType.DT_FLOAT,
    shape: { dim: [{ size: 2n }, { size: 3n }] },
    size: 24n,
    crc32c: 0xabf5eb7a,
  });
  const hex = Array.from(toBinary(BundleEntryProtoSchema, entry), (b) => b.toString(16).padStart(2, "0"))
    .join("");
  assert.equal(hex, "0801120812020802120208032818357aebf5ab");
  assert.equal(
    fromBinary(BundleEntryProtoSchema, toBinary(BundleEntryProtoSchema, entry)).crc32c,
    0xabf5eb7a,
  );
});

Deno.test("proto2 defaults of the SentencePiece schema apply to unset fields", () => {
  const spec = fromBinary(NormalizerSpecSchema, new Uint8Array(0));
  assert.equal(spec.addDummyPrefix, true);
  assert.equal(spec.escapeWhitespaces, true);
  const trainer = fromBinary(TrainerSpecSchema, new Uint8Array(0));
  assert.deepEqual([trainer.unkId, trainer.bosId, trainer.eosId, trainer.padId], [0, 1, 2, -1]);
  assert.equal(trainer.unkSurface, " \u2047 ");
});
