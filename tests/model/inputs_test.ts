import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { tiny } from "../../model/config.ts";
import { exampleBatch, InputError, type MirasolBatch, validateBatch } from "../../model/inputs.ts";
import { forward, init } from "../../model/mirasol.ts";

await setBackend("wasm");

// tiny: N = 8 frames in T = 2 chunks of 16x16, r = 4 columns per frame, 8 mel bins, vocab 40.
const good = exampleBatch(PRNGKey(0), tiny, { batch: 2, textLength: 6 });

function rejects(batch: MirasolBatch, field: string, expected: RegExp, got: RegExp) {
  assert.throws(
    () => validateBatch(batch, tiny),
    (e: unknown) =>
      e instanceof InputError && e.field === field && expected.test(e.expected) && got.test(e.got),
  );
}

Deno.test("validateBatch accepts a batch that fits the config and returns B and L", () => {
  assert.deepEqual(validateBatch(good, tiny), { batch: 2, length: 6 });
});

Deno.test("a video of the wrong rank or image size is an InputError naming video, expected and actual shape", () => {
  rejects(
    { ...good, video: tf.zeros([2, 8, 16, 16]) },
    "video",
    /^\[B, 8, 16, 16, 3\]$/,
    /^\[2, 8, 16, 16\]$/,
  );
  rejects(
    { ...good, video: tf.zeros([2, 8, 16, 12, 3]) },
    "video",
    /^\[2, 8, 16, 16, 3\]$/,
    /^\[2, 8, 16, 12, 3\]$/,
  );
  rejects(
    { ...good, video: tf.zeros([2, 8, 16, 16, 1]) },
    "video",
    /^\[2, 8, 16, 16, 3\]$/,
    /^\[2, 8, 16, 16, 1\]$/,
  );
});

Deno.test("N frames not divisible by T chunks is an InputError that says so", () => {
  const batch = { ...good, video: tf.zeros([2, 7, 16, 16, 3]) };
  assert.throws(
    () => validateBatch(batch, tiny),
    /batch\.video: expected \[2, 8, 16, 16, 3\], got \[2, 7, 16, 16, 3\] \(N = 7 frames cannot be split into T = 2 equal chunks\)/,
  );
});

Deno.test("a divisible but different frame count is an InputError naming the config's N", () => {
  rejects(
    { ...good, video: tf.zeros([2, 16, 16, 16, 3]) },
    "video",
    /^\[2, 8, 16, 16, 3\]$/,
    /^\[2, 16, 16, 16, 3\]$/,
  );
});

Deno.test("audio not aligned with the video is an InputError naming audio and the columns needed", () => {
  assert.throws(
    () => validateBatch({ ...good, audio: tf.zeros([2, 30, 8]) }, tiny),
    /batch\.audio: expected \[2, 32, 8\], got \[2, 30, 8\] \(audio not aligned with video: 8 frames need 32 columns at 4 per frame\)/,
  );
});

Deno.test("any audio length other than N*r columns is rejected (property)", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 80 }).filter((n) => n !== 32), (columns) => {
      rejects(
        { ...good, audio: tf.zeros([2, columns, 8]) },
        "audio",
        /^\[2, 32, 8\]$/,
        new RegExp(`^\\[2, ${columns}, 8\\]$`),
      );
    }),
    { numRuns: 100, seed: 3 },
  );
});

Deno.test("audio with the wrong batch size, mel bins, rank or dtype is an InputError naming audio", () => {
  rejects({ ...good, audio: tf.zeros([3, 32, 8]) }, "audio", /^\[2, 32, 8\]$/, /^\[3, 32, 8\]$/);
  rejects({ ...good, audio: tf.zeros([2, 32, 6]) }, "audio", /^\[2, 32, 8\]$/, /^\[2, 32, 6\]$/);
  rejects({ ...good, audio: tf.zeros([2, 32]) }, "audio", /^\[2, 32, 8\]$/, /^\[2, 32\]$/);
  rejects({ ...good, audio: tf.zeros([2, 32, 8], "int32") }, "audio", /float32/, /int32/);
});

Deno.test("token ids outside the vocabulary are an InputError naming text and the id range", () => {
  const ids = (v: number) => tf.tensor2d([[1, 2, 3, 4, 5, v], [0, 0, 0, 0, 0, 0]], [2, 6], "int32");
  rejects({ ...good, text: ids(40) }, "text", /^ids in \[0, 40\)$/, /^ids in \[0, 40\]$/);
  rejects({ ...good, text: ids(-1) }, "text", /^ids in \[0, 40\)$/, /^ids in \[-1, 5\]$/);
  assert.doesNotThrow(() => validateBatch({ ...good, text: ids(39) }, tiny));
});

Deno.test("text of the wrong dtype, batch or length is an InputError naming text", () => {
  rejects({ ...good, text: tf.zeros([2, 6]) }, "text", /int32/, /float32/);
  rejects({ ...good, text: tf.zeros([3, 6], "int32") }, "text", /^\[2, L\]$/, /^\[3, 6\]$/);
  rejects({ ...good, text: tf.zeros([2, 17], "int32") }, "text", /L <= 16/, /^\[2, 17\]$/);
});

Deno.test("masks that do not match the text shape are InputErrors naming textMask or lossMask", () => {
  rejects({ ...good, textMask: tf.ones([2, 5]) }, "textMask", /^\[2, 6\]$/, /^\[2, 5\]$/);
  rejects({ ...good, lossMask: tf.ones([2]) }, "lossMask", /^\[2, 6\]$/, /^\[2\]$/);
});

Deno.test("a missing field is an InputError, not a TypeError", () => {
  const { audio: _, ...rest } = good;
  rejects(rest as unknown as MirasolBatch, "audio", /tf\.Tensor/, /nothing/);
});

Deno.test("forward validates its batch first", () => {
  const p = init(PRNGKey(1), tiny);
  assert.throws(
    () => forward(p, { ...good, audio: tf.zeros([2, 31, 8]) }, { config: tiny, train: false }),
    InputError,
  );
});

Deno.test("exampleBatch is a pure function of its key", () => {
  const a = exampleBatch(PRNGKey(5), tiny),
    b = exampleBatch(PRNGKey(5), tiny),
    c = exampleBatch(PRNGKey(6), tiny);
  assert.deepEqual(a.video.dataSync(), b.video.dataSync());
  assert.deepEqual(a.text.dataSync(), b.text.dataSync());
  assert.notDeepEqual(a.video.dataSync(), c.video.dataSync());
});
