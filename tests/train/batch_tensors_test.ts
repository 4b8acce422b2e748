import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import type { Batch } from "../../data/types.ts";
import { batchTensors, disposeBatch } from "../../train/batch_tensors.ts";
import { tiny } from "../../model/config.ts";
import { InputError, validateBatch } from "../../model/inputs.ts";
import { syntheticBatches } from "../../train/sources.ts";

await setBackend("wasm");

Deno.test("batchTensors gives the model's tensors with the batch's values, accepted by validateBatch, leaking nothing", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: tiny.text.maxLength }),
      fc.nat(1000),
      (B, L, seed) => {
        const batch = syntheticBatches(tiny, { batchSize: B, seed, textLength: L })(seed);
        const live = tf.memory().numTensors;
        const t = batchTensors(batch, tiny);
        assert.deepEqual(validateBatch(t, tiny), { batch: B, length: L });
        assert.deepEqual(t.video.shape, [...batch.videoShape]);
        assert.deepEqual(t.audio!.shape, [...batch.audioShape]);
        assert.deepEqual([t.video.dtype, t.audio!.dtype, t.text.dtype, t.textMask.dtype], [
          "float32",
          "float32",
          "int32",
          "float32",
        ]);
        assert.deepEqual(t.video.dataSync(), batch.video);
        assert.deepEqual(t.audio!.dataSync(), batch.audio);
        assert.deepEqual(t.text.dataSync(), batch.text);
        assert.deepEqual(Array.from(t.lossMask.dataSync()), Array.from(batch.lossMask));
        disposeBatch(t);
        assert.equal(tf.memory().numTensors, live);
      },
    ),
    { numRuns: 100, seed: 17 },
  );
});

Deno.test("batchTensors rejects a batch that does not fit the config, naming the field and what it needed", () => {
  const good = syntheticBatches(tiny, { batchSize: 2, seed: 0 })(0);
  const bad = (b: Partial<Batch>, message: RegExp) =>
    assert.throws(
      () => batchTensors({ ...good, ...b }, tiny),
      (e: unknown) => e instanceof InputError && message.test(e.message),
    );
  bad(
    { videoShape: [2, 16, 16, 16, 3] },
    /batch\.video: expected \[2, 8, 16, 16, 3\], got \[2, 16, 16, 16, 3\] \(config tiny takes 8 frames of 16x16\)/,
  );
  bad({ video: good.video.subarray(1) }, /batch\.video: expected 12288 values .* got 12287/);
  bad({ audioShape: [2, 30, 8] }, /batch\.audio: expected \[2, 32, 8\], got \[2, 30, 8\]/);
  bad({
    textShape: [2, 17],
    text: new Int32Array(34),
    textMask: new Uint8Array(34),
    lossMask: new Uint8Array(34),
  }, /batch\.text: expected \[2, 1 <= L <= 16\]/);
  const text = good.text.slice();
  text[9] = 40;
  bad({ text }, /batch\.text: expected ids in \[0, 40\), got id 40 at example 1, position 1/);
});
