import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { showSpectrogram } from "../../viz/show_spectrogram.ts";
import { VizInputError } from "../../viz/errors.ts";
import { viridis } from "../../viz/colormap.ts";
import { dataUriBytes, decodePngs } from "./_python.ts";
import { elements, n, withClass } from "./_svg_elements.ts";

await setBackend("wasm");

const ramp = (F: number, M: number) => ({
  data: Float32Array.from({ length: F * M }, (_, k) => k % M),
  shape: [F, M],
});

Deno.test("showSpectrogram() draws a boundary at every F / chunks frames, time across", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 12 }),
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 1, max: 80 }),
      (chunks, perChunk, M) => {
        const F = chunks * perChunk;
        const fig = showSpectrogram(ramp(F, M), { chunks });
        const frame = withClass(elements(fig.svg, "rect"), "plot-frame")[0];
        const perFrame = n(frame, "width") / F;
        const xs = withClass(elements(fig.svg, "line"), "chunk-boundary").map((l) => {
          assert.equal(l.attrs["data-axis"], "col");
          return (n(l, "x1") - n(frame, "x")) / perFrame;
        });
        assert.equal(xs.length, chunks - 1);
        xs.forEach((x, k) =>
          assert.ok(
            Math.abs(x - (k + 1) * perChunk) < 0.02 / Math.min(1, perFrame),
            `boundary ${k} at frame ${x}`,
          )
        );
        assert.equal(
          withClass(elements(fig.svg, "text"), "col-tick").length,
          chunks > 1 ? chunks : Math.min(F, 2),
        );
      },
    ),
    { numRuns: 100, seed: 3 },
  );
});

Deno.test("showSpectrogram() embeds one pixel per (frame, mel bin), low bins at the bottom, coloured by value", async () => {
  const F = 6, M = 5;
  const fig = showSpectrogram(ramp(F, M)); // value = mel bin, so each row is constant
  const image = withClass(elements(fig.svg, "image"), "cells")[0];
  const [png] = await decodePngs([dataUriBytes(image.attrs.href)]);
  assert.deepEqual([png.width, png.height], [F, M]);
  for (let row = 0; row < M; row++) {
    const bin = M - 1 - row; // top row is the highest bin
    for (let f = 0; f < F; f++) {
      assert.deepEqual([...png.pixels.subarray((row * F + f) * 3, (row * F + f) * 3 + 3)], [
        ...viridis(bin / (M - 1)),
      ], `row ${row} frame ${f}`);
    }
  }
});

Deno.test("showSpectrogram() takes a chunked [T, F/T, mel] tensor as T chunks, the same as [F, mel] with chunks: T", () => {
  const flat = tf.randomNormal([12, 8], 0, 1, "float32", 1);
  const chunked = tf.reshape(flat, [3, 4, 8]);
  try {
    assert.equal(showSpectrogram(chunked).svg, showSpectrogram(flat, { chunks: 3 }).svg);
    assert.throws(
      () => showSpectrogram(chunked, { chunks: 2 }),
      (e) => e instanceof VizInputError && /chunks=2 disagrees/.test(e.message),
    );
  } finally {
    tf.dispose([flat, chunked]);
  }
});

Deno.test("showSpectrogram() maps -inf (log of silence) to the bottom of the colour map and rejects all-non-finite input", () => {
  const withSilence = { data: Float32Array.of(-Infinity, 0, 1, 2), shape: [2, 2] };
  assert.match(showSpectrogram(withSilence).summary, /values in \[0, 2\]/);
  assert.throws(
    () => showSpectrogram({ data: Float32Array.of(NaN, -Infinity), shape: [1, 2] }),
    /at least one finite value/,
  );
  assert.throws(
    () => showSpectrogram(ramp(4, 2), { chunks: 5 }),
    /expected chunks to be an integer in \[1, 4\], got 5/,
  );
});
