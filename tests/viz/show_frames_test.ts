import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { showFrames } from "../../viz/show_frames.ts";
import { VizInputError } from "../../viz/errors.ts";
import { dataUriBytes, decodePngs } from "./_python.ts";
import { elements, n, withClass } from "./_svg_elements.ts";

await setBackend("wasm");

/** Frame f, pixel (y, x), channel c of a clip whose values encode their own position. */
const valueAt = (f: number, y: number, x: number, c: number) => ((f * 31 + y * 7 + x * 3 + c * 11) % 64) / 63;

function clip(N: number, H: number, W: number): { data: Float32Array; shape: number[] } {
  const data = new Float32Array(N * H * W * 3);
  for (let f = 0; f < N; f++) {
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) data[((f * H + y) * W + x) * 3 + c] = valueAt(f, y, x, c);
      }
    }
  }
  return { data, shape: [N, H, W, 3] };
}

Deno.test("showFrames() groups N frames into `chunks` labelled groups of N / chunks frames, in order", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 2, max: 9 }),
      (C, K, size) => {
        const fig = showFrames(clip(C * K, size, size + 1), { chunks: C });
        const groups = fig.svg.split('<g class="chunk-group"').slice(1);
        assert.equal(groups.length, C);
        groups.forEach((g, t) => {
          assert.ok(g.startsWith(` data-chunk="${t}"`));
          assert.match(g, new RegExp(`>chunk ${t}</text>`));
          const frames = withClass(elements(g, "image"), "frame").map((e) => n(e, "data-frame"));
          assert.deepEqual(frames, Array.from({ length: K }, (_, k) => t * K + k));
        });
        const images = withClass(elements(fig.svg, "image"), "frame");
        for (const img of images) {
          assert.equal(n(img, "height"), 64);
          assert.ok(Math.abs(n(img, "width") - (64 * (size + 1)) / size) < 0.011, "aspect ratio kept");
          assert.ok(
            n(img, "x") + n(img, "width") <= fig.width && n(img, "y") + n(img, "height") <= fig.height,
            "inside the figure",
          );
        }
        for (let i = 1; i < images.length; i++) {
          const [a, b] = [images[i - 1], images[i]];
          assert.ok(
            n(b, "y") > n(a, "y") || n(b, "x") > n(a, "x") + n(a, "width"),
            `frame ${i} after frame ${i - 1}, not overlapping`,
          );
        }
      },
    ),
    { numRuns: 100, seed: 21 },
  );
});

Deno.test("showFrames() embeds each frame as a PNG of its own pixels (values in [0, 1] scaled to 0..255)", async () => {
  const N = 4, H = 3, W = 5;
  const fig = showFrames(clip(N, H, W), { chunks: 2 });
  const images = withClass(elements(fig.svg, "image"), "frame");
  const decoded = await decodePngs(images.map((e) => dataUriBytes(e.attrs.href)));
  decoded.forEach((png, f) => {
    assert.deepEqual([png.width, png.height, png.channels], [W, H, 3]);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        for (let c = 0; c < 3; c++) {
          assert.equal(
            png.pixels[(y * W + x) * 3 + c],
            Math.round(255 * valueAt(f, y, x, c)),
            `frame ${f} (${y}, ${x}, ${c})`,
          );
        }
      }
    }
  });
});

Deno.test("showFrames() takes a chunked [T, K, H, W, 3] tensor as T chunks, the same as [N, H, W, 3] with chunks: T", () => {
  const flat = tf.randomUniform([6, 4, 4, 3], 0, 1, "float32", 2);
  const chunked = tf.reshape(flat, [3, 2, 4, 4, 3]);
  try {
    assert.equal(showFrames(chunked).svg, showFrames(flat, { chunks: 3 }).svg);
  } finally {
    tf.dispose([flat, chunked]);
  }
});

Deno.test("showFrames() wraps long clips onto rows no wider than 960 px", () => {
  const fig = showFrames(clip(64, 4, 4), { chunks: 16 });
  assert.ok(fig.width <= 960, `width ${fig.width}`);
  const ys = new Set(withClass(elements(fig.svg, "image"), "frame").map((e) => e.attrs.y));
  assert.ok(ys.size > 1);
});

Deno.test("showFrames().toFile('x.png') writes the frames at native resolution with white gaps between chunks", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await showFrames(clip(2, 3, 4), { chunks: 2 }).toFile(`${dir}/f.png`);
    const [png] = await decodePngs([await Deno.readFile(`${dir}/f.png`)]);
    assert.deepEqual([png.width, png.height], [4 + 8 + 4, 3]);
    assert.equal(png.pixels[(1 * 16 + 2) * 3], Math.round(255 * valueAt(0, 1, 2, 0)));
    assert.equal(png.pixels[(1 * 16 + 12 + 2) * 3], Math.round(255 * valueAt(1, 1, 2, 0)));
    assert.deepEqual([...png.pixels.subarray((1 * 16 + 6) * 3, (1 * 16 + 6) * 3 + 3)], [255, 255, 255]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("showFrames() rejects clips it cannot lay out, saying why", () => {
  const bad = (f: () => unknown, pattern: RegExp) =>
    assert.throws(f, (e) => e instanceof VizInputError && pattern.test(e.message));
  bad(() => showFrames(clip(5, 2, 2), { chunks: 2 }), /cannot split 5 frames into 2 equal chunks/);
  bad(() => showFrames({ data: new Float32Array(16), shape: [2, 2, 2, 2] }), /expected 1 or 3 channels last/);
  bad(
    () => showFrames({ data: new Float32Array(12), shape: [2, 2, 3] }),
    /expected shape \[N, H, W, C\] or \[T, K, H, W, C\]/,
  );
  bad(() => showFrames(clip(1, 2, 2), { range: [1, 1] }), /lo < hi/);
});
