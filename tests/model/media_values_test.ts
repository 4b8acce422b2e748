import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { tiny } from "../../model/config.ts";
import { exampleBatch, InputError, type MirasolBatch, validateBatch } from "../../model/inputs.ts";

await setBackend("wasm");

// tiny: video [B, 8, 16, 16, 3], audio [B, 32, 8].
const good = exampleBatch(PRNGKey(0), tiny, { batch: 2, textLength: 6 });

/** `field` of `good` with element `flat` of row `row` set to `value`. */
function poisoned(field: "video" | "audio", row: number, flat: number, value: number): MirasolBatch {
  const x = good[field], values = x.dataSync().slice();
  values[row * (x.size / x.shape[0]) + flat] = value;
  return { ...good, [field]: tf.tensor(values, x.shape) };
}

Deno.test("validateBatch names the field, row, element and value of any NaN, Inf or out-of-range media value", () => {
  fc.assert(
    fc.property(
      fc.constantFrom("video" as const, "audio" as const),
      fc.nat(1),
      fc.nat(),
      fc.constantFrom(NaN, Infinity, -Infinity, 255, -0.5, 1.5),
      (field, row, n, value) => {
        if (field === "audio" && Number.isFinite(value)) return; // audio has no range, only finiteness
        const x = good[field], per = x.size / x.shape[0], flat = n % per;
        const batch = poisoned(field, row, flat, value);
        try {
          assert.throws(() => validateBatch(batch, tiny), (e: unknown) => {
            assert.ok(e instanceof InputError, String(e));
            assert.equal(e.field, field);
            assert.match(
              e.got,
              new RegExp(`^${String(value).replace(".", "\\.")} at row ${row}, element \\[`),
            );
            const shape = x.shape.slice(1);
            const index = shape.map((_, d) =>
              Math.floor(flat / shape.slice(d + 1).reduce((a, b) => a * b, 1)) % shape[d]
            );
            assert.ok(e.got.endsWith(`[${index.join(", ")}]`), e.got);
            return true;
          });
        } finally {
          batch[field]!.dispose();
        }
      },
    ),
    { numRuns: 100, seed: 16 },
  );
});

Deno.test("video in 0..255 is refused with a hint to divide by 255", () => {
  const video = tf.mul(good.video, 255);
  assert.throws(
    () => validateBatch({ ...good, video }, tiny),
    (e: unknown) => e instanceof InputError && /look like bytes 0\.\.255: divide by 255/.test(e.message),
  );
  video.dispose();
});

Deno.test("checkValues: false skips the media value check for callers that checked", () => {
  const batch = poisoned("video", 0, 0, NaN);
  assert.deepEqual(validateBatch(batch, tiny, { checkValues: false }), { batch: 2, length: 6 });
  batch.video.dispose();
});

Deno.test("a valid batch passes the media value check and leaks no tensor", () => {
  const before = tf.memory().numTensors;
  validateBatch(good, tiny);
  assert.equal(tf.memory().numTensors, before);
});
