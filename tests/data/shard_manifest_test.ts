import assert from "node:assert/strict";
import { Effect, Stream } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { listShards, type ShardListError } from "../../data/shard_manifest.ts";
import { decodeExample, decodeRecords } from "../../formats/tfrecord.ts";
import type { Example } from "../../data/types.ts";

await setBackend("wasm");

/** A small example whose id says which write (`tag`) and which position (`k`) it comes from. */
function example(tag: string, k: number): Example {
  const N = 2, H = 2, W = 2, F = 4, Mb = 2, L = 3;
  return {
    id: `${tag}-${k}`,
    video: new Float32Array(N * H * W * 3).fill(k / 100),
    videoShape: [N, H, W, 3],
    audio: new Float32Array(F * Mb).fill(-k),
    audioShape: [F, Mb],
    mediaMask: new Uint8Array(N).fill(1),
    hasAudio: true,
    fps: 25,
    text: Int32Array.from({ length: L }, (_, i) => k + i),
    textMask: new Uint8Array(L).fill(1),
    lossMask: new Uint8Array(L).fill(1),
  };
}
const examples = (tag: string, n: number) =>
  Stream.fromIterable(Array.from({ length: n }, (_, k) => example(tag, k)));
const write = (dir: string, tag: string, n: number, o: { shardSize?: number; overwrite?: boolean } = {}) =>
  Effect.runPromise(
    writeTFRecords(examples(tag, n), dir, { shardSize: o.shardSize ?? 4, overwrite: o.overwrite }),
  );
const flip = <A, E>(e: Effect.Effect<A, E>) => Effect.runPromise(Effect.flip(e));
const ls = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();
const idsIn = async (files: readonly string[]) =>
  (await Promise.all(files.map((f) => Deno.readFile(f)))).flatMap(decodeRecords).map((r) =>
    new TextDecoder().decode((decodeExample(r).id.value as Uint8Array[])[0])
  );
async function deadPid(): Promise<number> {
  const child = new Deno.Command("true").spawn();
  await child.status;
  return child.pid;
}

const root = await Deno.makeTempDir({ prefix: "shard_manifest_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

// rewrite: 15 examples, then 4 into the same folder (the campaign's "19 read, 4 reported")
await write(`${root}/rewrite`, "first", 15);
await write(`${root}/rewrite`, "second", 4);
// legacy: shards under the names an older version (or another tool) wrote, without a manifest
await Deno.mkdir(`${root}/legacy`);
for (const [i, n] of [[0, 3], [1, 2]]) {
  await Deno.copyFile(
    (await Effect.runPromise(writeTFRecords(examples(`legacy${i}`, n), `${root}/tmp${i}`, { shardSize: 9 })))
      .shards[0],
    `${root}/legacy/data-0000${i}-of-00002.tfrecord`,
  );
}
// mixed: a committed write and a foreign shard of the same name beside it
await write(`${root}/mixed`, "ours", 3);
await Deno.copyFile(
  `${root}/legacy/data-00000-of-00002.tfrecord`,
  `${root}/mixed/data-00000-of-00001.tfrecord`,
);
// leftover: a committed write, a shard renamed by a write killed before its manifest, a dead writer's temp
await write(`${root}/leftover`, "kept", 3);
const dead = await deadPid();
await Deno.copyFile(
  `${root}/legacy/data-00000-of-00002.tfrecord`,
  `${root}/leftover/data-00000-of-00001.zzzzzzzz.tfrecord`,
);
await Deno.writeTextFile(`${root}/leftover/data-00003.qqqqqqqq.tfrecord.tmp-${dead}-0badf00d`, "partial");
// damaged manifests: a missing shard, a shard of another size, a field of the wrong type
for (const d of ["missing", "resized", "badfield"]) await write(`${root}/${d}`, d, 5);
await Deno.remove((await Effect.runPromise(listShards(`${root}/missing`))).shards[1]);
const resized = (await Effect.runPromise(listShards(`${root}/resized`))).shards[0];
await Deno.writeFile(resized, (await Deno.readFile(resized)).subarray(0, 50));
const bad = JSON.parse(await Deno.readTextFile(`${root}/badfield/data.shards.json`));
bad.shards[0].bytes = "many";
await Deno.writeTextFile(`${root}/badfield/data.shards.json`, JSON.stringify(bad));

const patterns = {
  rewriteGlob: `${root}/rewrite/*.tfrecord`,
  rewriteDir: `${root}/rewrite`,
  legacyGlob: `${root}/legacy/*.tfrecord`,
  mixedGlob: `${root}/mixed/*.tfrecord`,
  leftoverGlob: `${root}/leftover/*.tfrecord`,
  missingDir: `${root}/missing`,
  resizedGlob: `${root}/resized/*.tfrecord`,
  badfieldManifest: `${root}/badfield/data.shards.json`,
};
await Deno.writeTextFile(`${root}/plan.json`, JSON.stringify({ patterns: Object.values(patterns) }));
const py = await new Deno.Command(".venv/bin/python", {
  args: [
    new URL("./shard_listing_check.py", import.meta.url).pathname,
    `${root}/plan.json`,
    `${root}/driver.json`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
if (!py.success) throw new Error(`shard_listing_check.py failed:\n${new TextDecoder().decode(py.stderr)}`);
type DriverView = { files?: string[]; records?: number; error?: string };
const driverRaw: Record<string, DriverView> = JSON.parse(await Deno.readTextFile(`${root}/driver.json`));
const driver = (k: keyof typeof patterns) => driverRaw[patterns[k]];

Deno.test("a second write into a folder replaces the first: listShards, the glob and the TF driver all read its 4 examples", async () => {
  const listing = await Effect.runPromise(listShards(`${root}/rewrite`));
  assert.equal(listing.examples, 4);
  assert.deepEqual(await idsIn(listing.shards), ["second-0", "second-1", "second-2", "second-3"]);
  const left = await ls(`${root}/rewrite`);
  assert.equal(left.length, 2, `the first write's shards are gone: ${left}`);
  assert.deepEqual(driver("rewriteGlob").files, listing.shards);
  assert.equal(driver("rewriteGlob").records, 4);
  assert.equal(driver("rewriteDir").records, 4);
});

Deno.test("writeTFRecords() refuses a folder holding shards no manifest lists, and replaces them only with overwrite", async () => {
  const before = await ls(`${root}/legacy`);
  const err = await flip(writeTFRecords(examples("new", 2), `${root}/legacy`, { shardSize: 4 }));
  assert.equal(err._tag, "ShardWriteError");
  assert.match(
    err.message,
    /legacy: it holds 'data' shards that no manifest of this writer lists \(data-00000-of-00002\.tfrecord, data-00001-of-00002\.tfrecord\); pass overwrite: true/,
  );
  assert.deepEqual(await ls(`${root}/legacy`), before, "the refused write touched the folder");
  assert.equal(driver("legacyGlob").records, 5, "a folder of another tool's shards is still read as globbed");
  await Deno.mkdir(`${root}/legacy2`);
  for (const f of before) await Deno.copyFile(`${root}/legacy/${f}`, `${root}/legacy2/${f}`);
  await write(`${root}/legacy2`, "new", 2, { overwrite: true });
  const listing = await Effect.runPromise(listShards(`${root}/legacy2`));
  assert.deepEqual(await idsIn(listing.shards), ["new-0", "new-1"]);
  assert.deepEqual((await ls(`${root}/legacy2`)).filter((f) => !listing.shards.some((s) => s.endsWith(f))), [
    "data.shards.json",
  ]);
});

Deno.test("a foreign shard beside a manifest is a ShardListError naming the folder and the file, in TS and in the driver", async () => {
  const err = await flip(listShards(`${root}/mixed`));
  assert.equal(err._tag, "ShardListError");
  assert.match(
    err.message,
    /^Cannot list TFRecord shards in .*mixed: data-00000-of-00001\.tfrecord is not listed in data\.shards\.json$/,
  );
  assert.match(
    driver("mixedGlob").error!,
    /^DataError: Cannot read training data in .*mixed: data-00000-of-00001\.tfrecord/,
  );
});

Deno.test("leftovers of an interrupted write are skipped by readers and removed by the next write", async () => {
  const listing = await Effect.runPromise(listShards(`${root}/leftover`));
  assert.deepEqual(await idsIn(listing.shards), ["kept-0", "kept-1", "kept-2"]);
  assert.equal(driver("leftoverGlob").records, 3);
  await write(`${root}/leftover`, "next", 1);
  const left = await ls(`${root}/leftover`);
  assert.equal(left.length, 2, `stale files remain: ${left}`);
  assert.ok(left.every((f) => !f.includes("zzzzzzzz") && !f.includes(".tmp-")));
});

Deno.test("a manifest that disagrees with its folder is a typed error naming the folder and what differs", async () => {
  const cases: [string, RegExp, keyof typeof patterns][] = [
    [
      "missing",
      /missing: data\.shards\.json lists data-00001-of-00002\.[0-9a-z]{8}\.tfrecord, which is missing$/,
      "missingDir",
    ],
    [
      "resized",
      /resized: data\.shards\.json lists data-00000-of-00002\.[0-9a-z]{8}\.tfrecord with \d+ bytes, the file has 50$/,
      "resizedGlob",
    ],
    [
      "badfield",
      /badfield: data\.shards\.json: shards\[0\]\.bytes: Expected .*got "many"$/,
      "badfieldManifest",
    ],
  ];
  for (const [dir, message, pattern] of cases) {
    const err: ShardListError = await flip(listShards(`${root}/${dir}`));
    assert.equal(err._tag, "ShardListError");
    assert.match(err.message, message);
    assert.match(
      driver(pattern).error!,
      new RegExp(`^DataError: Cannot read training data in .*${dir}`),
      dir,
    );
  }
});

Deno.test("listShards() without a name needs exactly one shard set in the folder", async () => {
  const dir = `${root}/two`;
  await Effect.runPromise(writeTFRecords(examples("a", 1), dir, { shardSize: 1, name: "train" }));
  await Effect.runPromise(writeTFRecords(examples("b", 2), dir, { shardSize: 1, name: "val" }));
  assert.match(
    (await flip(listShards(dir))).message,
    /two: it holds 2 shard sets \(train, val\); pass the name of one$/,
  );
  assert.equal((await Effect.runPromise(listShards(dir, { name: "val" }))).examples, 2);
  assert.match(
    (await flip(listShards(`${root}/legacy`))).message,
    /legacy: no \*\.shards\.json manifest beside its 2 \.tfrecord files/,
  );
});

Deno.test("writeTFRecords() refuses a name that is a path and a video mode it does not know", async () => {
  const a = await flip(writeTFRecords(examples("x", 1), `${root}/opts`, { shardSize: 1, name: "../escape" }));
  assert.match(a.message, /name must be a plain file-name prefix .* got "\.\.\/escape"/);
  const b = await flip(
    writeTFRecords(examples("x", 1), `${root}/opts`, { shardSize: 1, video: "jpeg" as "png" }),
  );
  assert.match(b.message, /video must be "float" or "png", got "jpeg"/);
});
