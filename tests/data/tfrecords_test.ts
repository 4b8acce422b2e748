import assert from "node:assert/strict";
import { Effect, Fiber, Stream } from "effect";
import { setBackend } from "../../transforms/backend.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { decodeExample, decodeRecords, TFRecordError } from "../../formats/tfrecord.ts";
import type { Example } from "../../data/types.ts";

await setBackend("wasm");

/** Example k: values from a fixed LCG, with exact 0 and 1 pixels and rounding edge cases. */
function example(k: number): Example {
  let s = 12345 + k * 7919;
  const next = () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  const N = 2 + (k % 3), H = 3, W = 5, Mb = 4, F = N * 4, L = 6;
  const video = Float32Array.from(
    { length: N * H * W * 3 },
    (_, i) => (i % 17 === 0 ? 0 : i % 19 === 0 ? 1 : next()),
  );
  return {
    id: `clip-${k}-é`,
    video,
    videoShape: [N, H, W, 3],
    audio: Float32Array.from({ length: F * Mb }, () => (next() - 0.5) * 30),
    audioShape: [F, Mb],
    mediaMask: Uint8Array.from({ length: N }, (_, t) => (t < N - (k % 2) ? 1 : 0)),
    hasAudio: k % 3 !== 1,
    fps: 25,
    text: Int32Array.from({ length: L }, (_, i) => (i < 4 ? 100000 * k + i : 0)),
    textMask: Uint8Array.from({ length: L }, (_, i) => (i < 4 ? 1 : 0)),
    lossMask: Uint8Array.from({ length: L }, (_, i) => (i >= 2 && i < 4 ? 1 : 0)),
  };
}

const EXAMPLES = Array.from({ length: 7 }, (_, k) => example(k));
const root = await Deno.makeTempDir({ prefix: "tfrecords_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));

const floatReport = await Effect.runPromise(
  writeTFRecords(Stream.fromIterable(EXAMPLES), `${root}/float`, { shardSize: 3 }),
);
const pngReport = await Effect.runPromise(
  writeTFRecords(Stream.fromIterable(EXAMPLES), `${root}/png`, { shardSize: 4, name: "clips", video: "png" }),
);

// corrupt copies: one flipped byte inside a record's data, one inside the first length field
const shard0 = await Deno.readFile(floatReport.shards[0]);
const dataFlip = shard0.slice();
dataFlip[40] ^= 0x10;
const lengthFlip = shard0.slice();
lengthFlip[1] ^= 0x01;
await Deno.writeFile(`${root}/corrupt-data.tfrecord`, dataFlip);
await Deno.writeFile(`${root}/corrupt-length.tfrecord`, lengthFlip);

const toJson = (e: Example) => ({
  ...e,
  video: [...e.video],
  audio: [...e.audio],
  mediaMask: [...e.mediaMask],
  text: [...e.text],
  textMask: [...e.textMask],
  lossMask: [...e.lossMask],
});
await Deno.writeTextFile(`${root}/expected.json`, JSON.stringify(EXAMPLES.map(toJson)));
await Deno.writeTextFile(
  `${root}/plan.json`,
  JSON.stringify({
    datasets: [
      { name: "float", files: floatReport.shards, expected: `${root}/expected.json`, video: "float" },
      { name: "png", files: pngReport.shards, expected: `${root}/expected.json`, video: "png" },
    ],
    corrupt: [`${root}/corrupt-data.tfrecord`, `${root}/corrupt-length.tfrecord`],
  }),
);
const py = await new Deno.Command(".venv/bin/python", {
  args: [
    new URL("./tfrecords_check.py", import.meta.url).pathname,
    `${root}/plan.json`,
    `${root}/result.json`,
  ],
  stdout: "piped",
  stderr: "piped",
}).output();
if (!py.success) throw new Error(`tfrecords_check.py failed:\n${new TextDecoder().decode(py.stderr)}`);
const TF: { datasets: Record<string, string>; corrupt: Record<string, string> } = JSON.parse(
  await Deno.readTextFile(`${root}/result.json`),
);

const listDir = async (dir: string) => (await Array.fromAsync(Deno.readDir(dir))).map((e) => e.name).sort();

Deno.test("writeTFRecords() writes <name>-0000i-of-0000N.<write> shards of shardSize examples, then their manifest, and nothing else", async () => {
  const tagged = (name: string, n: number) =>
    Array.from(
      { length: n },
      (_, i) => new RegExp(`^${name}-0000${i}-of-0000${n}\\.[0-9a-z]{8}\\.tfrecord$`),
    );
  const float = await listDir(`${root}/float`);
  assert.equal(float.length, 4);
  tagged("data", 3).forEach((re, i) => assert.match(float[i], re));
  assert.equal(float[3], "data.shards.json");
  const png = await listDir(`${root}/png`);
  tagged("clips", 2).forEach((re, i) => assert.match(png[i], re));
  assert.deepEqual(png.slice(2), ["clips.shards.json"]);
  const counts = await Promise.all(
    floatReport.shards.map(async (p) => decodeRecords(await Deno.readFile(p)).length),
  );
  assert.deepEqual(counts, [3, 3, 1]);
  assert.equal(floatReport.examples, 7);
  const manifest = JSON.parse(await Deno.readTextFile(floatReport.manifest));
  assert.deepEqual(manifest.shards.map((s: { examples: number }) => s.examples), [3, 3, 1]);
  assert.equal(manifest.examples, 7);
});

Deno.test("TensorFlow parses every float-video record equal to the example TypeScript wrote", () => {
  assert.equal(TF.datasets.float, "ok");
});

Deno.test("TensorFlow decodes every PNG frame to the example's pixels rounded to 8 bits", () => {
  assert.equal(TF.datasets.png, "ok");
});

Deno.test("one flipped byte makes TensorFlow report DataLossError and our reader a TFRecordError", async () => {
  for (const name of ["corrupt-data", "corrupt-length"]) {
    assert.equal(TF.corrupt[`${root}/${name}.tfrecord`], "DataLossError", name);
    const bytes = await Deno.readFile(`${root}/${name}.tfrecord`);
    assert.throws(
      () => decodeRecords(bytes),
      (e) => e instanceof TFRecordError && /corrupted record (data|length)/.test(e.message),
    );
  }
});

Deno.test("our reader gives back each example's values from the shards, in stream order", async () => {
  const records = (await Promise.all(floatReport.shards.map((p) => Deno.readFile(p)))).flatMap(decodeRecords);
  assert.equal(records.length, EXAMPLES.length);
  records.map(decodeExample).forEach((f, k) => {
    const e = EXAMPLES[k];
    assert.equal(new TextDecoder().decode((f.id.value as Uint8Array[])[0]), e.id);
    assert.deepEqual(f.video.value, e.video);
    assert.deepEqual(f.audio.value, e.audio);
    assert.deepEqual(f["video/shape"].value, [...e.videoShape]);
    assert.deepEqual(f.text.value, [...e.text]);
    assert.deepEqual(f.loss_mask.value, [...e.lossMask]);
    assert.deepEqual(f.has_audio.value, [e.hasAudio ? 1 : 0]);
  });
});

Deno.test("a stream failing after some examples leaves no shard, temporary or final, behind", async () => {
  const dir = `${root}/failing`;
  const failing = Stream.fromIterable(EXAMPLES.slice(0, 5)).pipe(
    Stream.concat(Stream.fail("decoder broke" as const)),
  );
  const error = await Effect.runPromise(Effect.flip(writeTFRecords(failing, dir, { shardSize: 2 })));
  assert.equal(error, "decoder broke");
  assert.deepEqual(await listDir(dir), []);
});

Deno.test("interrupting the writer mid-stream leaves no shard behind", async () => {
  const dir = `${root}/interrupted`;
  const endless = Stream.fromIterable(EXAMPLES.slice(0, 3)).pipe(Stream.concat(Stream.never));
  const fiber = Effect.runFork(writeTFRecords(endless, dir, { shardSize: 2 }));
  for (let i = 0; i < 200 && (await listDir(dir).catch(() => [])).length < 2; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal((await listDir(dir)).length, 2, "two temporary shards exist while the stream is open");
  assert.ok(
    (await listDir(dir)).every((f) => /\.tmp-\d+-[0-9a-f]{8}$/.test(f)),
    "the open shards have temporary names",
  );
  await Effect.runPromise(Fiber.interrupt(fiber));
  assert.deepEqual(await listDir(dir), []);
});
