import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import fc from "fast-check";
import { chunkAlign, integerColumnsPerFrame, resampleColumns } from "../../data/align.ts";
import { BadMediaConfig } from "../../data/errors.ts";

Deno.test("chunkAlign(): for random durations, frame rates and chunk counts, each chunk's audio and video spans agree within one hop", () => {
  fc.assert(
    fc.property(
      fc.double({ min: 0.2, max: 60, noNaN: true }), // clip duration, s
      fc.oneof(fc.constantFrom(24, 25, 29.97, 30, 50, 60), fc.double({ min: 1, max: 120, noNaN: true })), // fps
      fc.integer({ min: 1, max: 32 }), // T
      fc.oneof(fc.constant(100), fc.double({ min: 10, max: 400, noNaN: true })), // columns per second
      (durationS, fps, T, cps) => {
        const K = Math.max(1, Math.floor((durationS * fps) / T));
        const a = chunkAlign({ frames: K * T, chunks: T, fps, columnsPerSecond: cps });
        const hopS = 1 / cps;
        assert.equal(a.chunks.length, T);
        let nextColumn = 0;
        for (const c of a.chunks) {
          assert.equal(c.firstFrame, c.chunk * K);
          assert.equal(c.firstColumn, nextColumn, "chunks leave a gap or overlap in columns");
          nextColumn += c.columnCount;
          assert.ok(Math.abs(c.audioStartS - c.videoStartS) <= hopS + 1e-9, `chunk ${c.chunk} starts apart`);
          assert.ok(Math.abs(c.audioEndS - c.videoEndS) <= hopS + 1e-9, `chunk ${c.chunk} ends apart`);
        }
        assert.equal(nextColumn, a.columns, "chunks do not cover the clip's columns");
        assert.ok(
          Math.abs(a.columns / cps - (K * T) / fps) <= hopS,
          "clip's audio and video durations differ",
        );
      },
    ),
    { numRuns: 500, seed: 42 },
  );
});

Deno.test("chunkAlign(): with 100 columns/s at 25 fps a clip has exactly N * 4 columns and chunks align exactly", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 16 }), fc.integer({ min: 1, max: 32 }), (T, K) => {
      const a = chunkAlign({ frames: T * K, chunks: T, fps: 25, columnsPerSecond: 100 });
      assert.equal(a.columns, T * K * 4);
      assert.equal(a.columnsPerFrame, 4);
      for (const c of a.chunks) {
        assert.equal(c.firstColumn, c.chunk * K * 4);
        assert.equal(c.columnCount, K * 4);
        assert.ok(
          Math.abs(c.audioStartS - c.videoStartS) < 1e-12 && Math.abs(c.audioEndS - c.videoEndS) < 1e-12,
        );
      }
    }),
    { numRuns: 100, seed: 3 },
  );
});

Deno.test("chunkAlign() rejects a chunk count that does not divide the frames, naming the option", () => {
  assert.throws(
    () => chunkAlign({ frames: 30, chunks: 4, fps: 25, columnsPerSecond: 100 }),
    (e: unknown) =>
      e instanceof BadMediaConfig && e.option === "chunks" && /divisor of frames \(30\)/.test(e.message),
  );
  assert.throws(() => chunkAlign({ frames: 32, chunks: 4, fps: 0, columnsPerSecond: 100 }), BadMediaConfig);
});

Deno.test("integerColumnsPerFrame() is 4 at 25 fps and refuses 30 fps with hop 160", () => {
  assert.equal(integerColumnsPerFrame(25, 16_000, 160), 4);
  assert.equal(integerColumnsPerFrame(50, 16_000, 160), 2);
  const bad = integerColumnsPerFrame(30, 16_000, 160);
  assert.ok(bad instanceof BadMediaConfig && /3\.3333 columns per frame/.test(bad.message));
});

Deno.test("resampleColumns() is the identity at the source rate and averages the columns of each span when downsampling", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 50 }),
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 5 }),
      (F, Mb, factor) => {
        const src = Float32Array.from({ length: F * factor * Mb }, (_, i) => Math.sin(i * 1.7) * 10);
        const same = resampleColumns(src, Mb, 100, 0, (F * factor) / 100, F * factor);
        assert.deepEqual(same, src);
        const pooled = resampleColumns(src, Mb, 100, 0, (F * factor) / 100, F); // [F, Mb]
        for (let k = 0; k < F; k++) {
          for (let m = 0; m < Mb; m++) {
            let mean = 0;
            for (let j = k * factor; j < (k + 1) * factor; j++) mean += src[j * Mb + m] / factor;
            assert.ok(Math.abs(pooled[k * Mb + m] - mean) < 1e-4, `column ${k} bin ${m}`);
          }
        }
      },
    ),
    { numRuns: 100, seed: 11 },
  );
});
