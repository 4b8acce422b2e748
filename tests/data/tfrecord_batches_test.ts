import assert from "node:assert/strict";
import { Effect, Stream } from "effect";
import { ShardReadError, tfrecordBatches } from "../../data/tfrecord_batches.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import type { Batch, Example } from "../../data/types.ts";
import { tiny } from "../../model/config.ts";
import { syntheticBatches } from "../../train/sources.ts";

const N = tiny.video.frames, H = tiny.video.height, W = tiny.video.width;
const F = N * tiny.audio.columnsPerFrame, Mb = tiny.audio.melBins;

/** Row i of a batch as an Example (what data/ writes to shards). */
function row(b: Batch, i: number, id: string): Example {
  const L = b.textShape[1], v = N * H * W * 3, a = F * Mb;
  return {
    id,
    video: b.video.slice(i * v, (i + 1) * v),
    videoShape: [N, H, W, 3],
    audio: b.audio.slice(i * a, (i + 1) * a),
    audioShape: [F, Mb],
    mediaMask: b.mediaMask.slice(i * N, (i + 1) * N),
    hasAudio: true,
    fps: 25,
    text: b.text.slice(i * L, (i + 1) * L),
    textMask: b.textMask.slice(i * L, (i + 1) * L),
    lossMask: b.lossMask.slice(i * L, (i + 1) * L),
  };
}

Deno.test("tfrecordBatches reads data/ shards back exactly and visits every example once per epoch in a seeded order", async () => {
  const dir = await Deno.makeTempDir();
  const source = syntheticBatches(tiny, { batchSize: 5, seed: 9 })(0);
  const examples = Array.from({ length: 5 }, (_, i) => row(source, i, `clip-${i}`));
  await Effect.runPromise(writeTFRecords(Stream.fromIterable(examples), dir, { shardSize: 3 })); // 2 shards
  const batches = await tfrecordBatches(dir, tiny, { batchSize: 2, seed: 1 });
  const ids = Array.from({ length: 5 }, (_, s) => batches(s).ids).flat(); // 2 epochs of 5
  assert.deepEqual([...ids.slice(0, 5)].sort(), examples.map((e) => e.id));
  assert.deepEqual([...ids.slice(5, 10)].sort(), examples.map((e) => e.id));
  assert.deepEqual(batches(3), (await tfrecordBatches(dir, tiny, { batchSize: 2, seed: 1 }))(3));
  const b = batches(0), k = examples.findIndex((e) => e.id === b.ids[0]);
  assert.deepEqual(b.video.subarray(0, N * H * W * 3), examples[k].video);
  assert.deepEqual(b.audio.subarray(0, F * Mb), examples[k].audio);
  assert.deepEqual(b.text.subarray(0, b.textShape[1]), examples[k].text);
  await assert.rejects(() => tfrecordBatches(`${dir}/none`, tiny, { batchSize: 1, seed: 0 }));
  const wrong = await tfrecordBatches(dir, { ...tiny, video: { ...tiny.video, height: 32 } }, {
    batchSize: 1,
    seed: 0,
  });
  assert.throws(() => wrong(0), /video has 6144 values, the config needs 12288/);
  // Shards no manifest lists (another tool's, or a killed write's) are refused, not read beside them.
  await Deno.writeFile(`${dir}/data-00000-of-00001.tfrecord`, new Uint8Array(0));
  await assert.rejects(() => tfrecordBatches(dir, tiny, { batchSize: 1, seed: 0 }), ShardReadError);
  await Deno.remove(dir, { recursive: true });
});
