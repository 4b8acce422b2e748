import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { showMask } from "../../viz/show_mask.ts";
import { VizInputError } from "../../viz/errors.ts";
import { JUPYTER_DISPLAY } from "../../viz/display.ts";
import { dataUriBytes, decodePngs } from "./_python.ts";
import { elements, n, rasterizeCells, withClass } from "./_svg_elements.ts";

await setBackend("wasm");

/** Eq. 8, written naively: query token i sees key token j iff chunk(j) <= chunk(i). */
function blockCausal(chunks: number, perChunk: number): number[][] {
  const L = chunks * perChunk;
  return Array.from(
    { length: L },
    (_, i) =>
      Array.from({ length: L }, (_, j) => (Math.floor(j / perChunk) <= Math.floor(i / perChunk) ? 1 : 0)),
  );
}

const DARK = "#08306b", WHITE = "#ffffff"; // the ends of the Blues ramp

Deno.test("showMask() draws each entry of a block-causal mask: attended dark, blocked white", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 1, max: 5 }), (C, N) => {
      const mask = blockCausal(C, N);
      const grid = rasterizeCells(showMask(mask, { chunks: C }).svg, C * N, C * N);
      assert.deepEqual(grid, mask.map((row) => row.map((v) => (v ? DARK : WHITE))));
    }),
    { numRuns: 100, seed: 9 },
  );
});

Deno.test("showMask() sizes the figure from the mask: cells of min(24, 480 / L) px and width/height around them", () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 1, max: 40 }), (rows, cols) => {
      const fig = showMask({ data: new Float32Array(rows * cols).fill(1), shape: [rows, cols] });
      const cell = Math.min(24, 480 / Math.max(rows, cols));
      const frame = withClass(elements(fig.svg, "rect"), "plot-frame")[0];
      assert.ok(
        Math.abs(n(frame, "width") - cols * cell) < 0.011 &&
          Math.abs(n(frame, "height") - rows * cell) < 0.011,
      );
      const svg = elements(fig.svg, "svg")[0];
      assert.equal(n(svg, "width"), fig.width);
      assert.equal(n(svg, "height"), fig.height);
      assert.ok(
        fig.width >= n(frame, "x") + n(frame, "width") && fig.height >= n(frame, "y") + n(frame, "height"),
      );
      assert.ok(
        fig.width <= n(frame, "x") + n(frame, "width") + 16 &&
          fig.height <= n(frame, "y") + n(frame, "height") + 16,
      );
    }),
    { numRuns: 100, seed: 10 },
  );
});

Deno.test("showMask() draws the chunk boundaries after every N tokens on both axes, and only there", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 8 }),
      fc.integer({ min: 1, max: 20 }),
      fc.boolean(),
      (C, N, byCount) => {
        const L = C * N;
        const fig = showMask(blockCausal(C, N), byCount ? { chunks: C } : { tokensPerChunk: N });
        const frame = withClass(elements(fig.svg, "rect"), "plot-frame")[0];
        const cell = n(frame, "width") / L;
        const lines = withClass(elements(fig.svg, "line"), "chunk-boundary");
        const cols = lines.filter((l) => l.attrs["data-axis"] === "col").map((l) =>
          Math.round((n(l, "x1") - n(frame, "x")) / cell)
        );
        const rows = lines.filter((l) => l.attrs["data-axis"] === "row").map((l) =>
          Math.round((n(l, "y1") - n(frame, "y")) / cell)
        );
        const expected = Array.from({ length: C - 1 }, (_, k) => (k + 1) * N);
        assert.deepEqual(cols, expected);
        assert.deepEqual(rows, expected);
        for (const l of lines) {
          const vertical = l.attrs["data-axis"] === "col";
          assert.equal(
            vertical ? n(l, "x1") : n(l, "y1"),
            vertical ? n(l, "x2") : n(l, "y2"),
            "boundaries are straight",
          );
          assert.ok(
            Math.abs((vertical ? n(l, "y2") - n(l, "y1") : n(l, "x2") - n(l, "x1")) - n(frame, "width")) <
              0.011,
            "and span the plot",
          );
        }
      },
    ),
    { numRuns: 100, seed: 11 },
  );
});

Deno.test("showMask() reads a bool tensor, an additive 0/-inf tensor and nested 0/1 arrays as the same mask", () => {
  const mask = blockCausal(3, 2);
  const fromArray = showMask(mask, { chunks: 3 });
  const boolTensor = tf.tensor2d(mask, [6, 6], "bool");
  const additive = tf.tensor2d(mask.map((r) => r.map((v) => (v ? 0 : -Infinity))));
  const finiteAdditive = [[0, -1e9], [0, 0]];
  try {
    assert.equal(showMask(boolTensor, { chunks: 3 }).svg, fromArray.svg);
    assert.equal(showMask(additive, { chunks: 3 }).svg, fromArray.svg);
    assert.equal(showMask(finiteAdditive).svg, showMask([[1, 0], [1, 1]]).svg);
    assert.equal(
      showMask({ data: Uint8Array.from(mask.flat()), shape: [1, 1, 6, 6] }, { chunks: 3 }).svg,
      fromArray.svg,
    );
  } finally {
    tf.dispose([boolTensor, additive]);
  }
});

Deno.test("showMask() embeds a big mask as a PNG whose pixels are the mask, one per entry", async () => {
  const C = 8, N = 16, L = C * N; // 16384 entries: past the rect limit
  const fig = showMask(blockCausal(C, N), { chunks: C });
  assert.equal(elements(fig.svg, "rect").filter((r) => r.attrs.fill === DARK).length, 0, "no per-cell rects");
  const image = withClass(elements(fig.svg, "image"), "cells")[0];
  const [png] = await decodePngs([dataUriBytes(image.attrs.href)]);
  assert.equal(png.width, L);
  assert.equal(png.height, L);
  for (let i = 0; i < L; i++) {
    for (let j = 0; j < L; j++) {
      const p = (i * L + j) * 3;
      const hex = "#" +
        [...png.pixels.subarray(p, p + 3)].map((v) => v.toString(16).padStart(2, "0")).join("");
      if (hex !== (Math.floor(j / N) <= Math.floor(i / N) ? DARK : WHITE)) {
        assert.fail(`pixel [${i}, ${j}] is ${hex}`);
      }
    }
  }
  assert.equal(withClass(elements(fig.svg, "line"), "chunk-boundary").length, 2 * (C - 1));
});

Deno.test("showMask().toFile('x.png') writes the cells with boundary lines at the chunk starts", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await showMask(blockCausal(2, 2), { chunks: 2 }).toFile(`${dir}/m.png`); // 24 px per cell, boundary at x = y = 48
    const [png] = await decodePngs([await Deno.readFile(`${dir}/m.png`)]);
    assert.deepEqual([png.width, png.height], [96, 96]);
    const at = (x: number, y: number) => [...png.pixels.subarray((y * 96 + x) * 3, (y * 96 + x) * 3 + 3)];
    assert.deepEqual(at(48, 10), [241, 105, 19], "vertical boundary");
    assert.deepEqual(at(10, 48), [241, 105, 19], "horizontal boundary");
    assert.deepEqual(at(10, 10), [8, 48, 107], "attended cell");
    assert.deepEqual(at(80, 10), [255, 255, 255], "blocked cell");
    await assert.rejects(
      showMask([[1]]).toFile(`${dir}/m.jpg`),
      /expected one of the extensions \.svg, \.png, got 'jpg'/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("showMask() renders in Jupyter as PNG and SVG with a one-line summary", async () => {
  const bundle = await showMask(blockCausal(4, 2), { chunks: 4 })[JUPYTER_DISPLAY]();
  assert.deepEqual(Object.keys(bundle).sort(), ["image/png", "image/svg+xml", "text/plain"]);
  assert.equal(
    bundle["text/plain"],
    "attention mask 8x8 (4 chunks of 2 tokens): 40 of 64 entries attend (63%)",
  );
});

Deno.test("showMask() rejects masks it would misdraw, saying what was wrong", () => {
  const bad = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e) => e instanceof VizInputError && pattern.test(e.message));
  bad(
    () => showMask(blockCausal(3, 2), { chunks: 4 }),
    /^Cannot show mask: cannot split 6 query tokens into 4 equal chunks$/,
  );
  bad(
    () => showMask([[0, 2], [1, 1]]),
    /expected a binary mask with values in \[0, 1\], got values in \[0, 2\]/,
  );
  bad(() => showMask([[0, -1], [1, 1]]), /expected an additive mask .* got max 1/);
  bad(() => showMask([[0, NaN]]), /NaN/);
  bad(() => showMask([1, 0, 1]), /expected shape \[Tq, Tk\].*got \[3\]/);
  bad(() => showMask([[1, 0], [1]]), /rectangular/);
  bad(
    () => showMask(blockCausal(2, 2), { chunks: 2, tokensPerChunk: 3 }),
    /chunks=2 x tokensPerChunk=3 = 6, but the mask has 4 query tokens/,
  );
});
