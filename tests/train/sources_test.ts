import assert from "node:assert/strict";
import { tiny } from "../../model/config.ts";
import { syntheticBatches, syntheticClasses } from "../../train/sources.ts";

const N = tiny.video.frames;
const F = N * tiny.audio.columnsPerFrame, Mb = tiny.audio.melBins;

Deno.test("syntheticBatches is a pure function of (seed, step) whose caption starts with the class token the media encode", () => {
  const a = syntheticBatches(tiny, { batchSize: 3, seed: 4 });
  const b = syntheticBatches(tiny, { batchSize: 3, seed: 4 });
  assert.deepEqual(a(7), b(7));
  assert.notDeepEqual(a(7).video, a(8).video);
  assert.notDeepEqual(a(7).video, syntheticBatches(tiny, { batchSize: 3, seed: 5 })(7).video);
  const C = syntheticClasses(tiny), batch = a(2), L = batch.textShape[1];
  for (let i = 0; i < 3; i++) {
    const text = Array.from(batch.text.subarray(i * L, (i + 1) * L));
    const cls = text[1] - 2;
    assert.equal(text[0], 1);
    assert.ok(cls >= 0 && cls < C);
    assert.deepEqual(text.slice(1), text.slice(1).map((_, l) => 2 + ((cls + l) % C)));
    // the audio carries the class as the loudest mel bin of every column
    const audio = batch.audio.subarray(i * F * Mb, (i + 1) * F * Mb);
    const mean = (bin: number) =>
      Array.from({ length: F }, (_, c) => audio[c * Mb + bin]).reduce((x, y) => x + y) / F;
    const loudest = Array.from({ length: Mb }, (_, bin) => mean(bin)).reduce(
      (best, v, bin, all) => (v > all[best] ? bin : best),
      0,
    );
    assert.equal(loudest, cls % Mb);
  }
  // a pool cycles through a fixed set of clips
  const pool = syntheticBatches(tiny, { batchSize: 2, seed: 4, pool: 3 });
  assert.deepEqual(pool(0).ids, ["synthetic-4-0", "synthetic-4-1"]);
  assert.deepEqual(pool(1).ids, ["synthetic-4-2", "synthetic-4-0"]);
  assert.deepEqual(pool(3).video, pool(0).video);
});
