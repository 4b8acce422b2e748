import assert from "node:assert/strict";
import { setBackend } from "../../transforms/backend.ts";
import { svgToPng } from "../../viz/rasterize.ts";
import {
  JUPYTER_DISPLAY,
  lossChart,
  showFrames,
  showInfluence,
  showMask,
  showSpectrogram,
  VizInputError,
} from "../../viz/mod.ts";
import { base64 } from "../../viz/png.ts";
import { decodePng, rgbAt } from "./_png_decode.ts";

await setBackend("cpu"); // the helpers read plain arrays here

const fromB64 = (s: string) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));

// A 2x2 mask drawn by hand: four 10x10 cells of known colours.
const QUADRANTS = `<svg xmlns="http://www.w3.org/2000/svg" width="20" height="20" viewBox="0 0 20 20">
<rect x="0" y="0" width="10" height="10" fill="#08306b"/><rect x="10" y="0" width="10" height="10" fill="#ffffff"/>
<rect x="0" y="10" width="10" height="10" fill="#f16913"/><rect x="10" y="10" width="10" height="10" fill="#00ff00"/>
</svg>`;

Deno.test("svgToPng() draws a 2x2 mask at the SVG's size, each cell its own colour", async () => {
  const img = await decodePng(await svgToPng(QUADRANTS));
  assert.deepEqual([img.width, img.height], [20, 20]);
  assert.deepEqual(rgbAt(img, 5, 5), [8, 48, 107]);
  assert.deepEqual(rgbAt(img, 15, 5), [255, 255, 255]);
  assert.deepEqual(rgbAt(img, 5, 15), [241, 105, 19]);
  assert.deepEqual(rgbAt(img, 15, 15), [0, 255, 0]);
});

Deno.test("svgToPng({scale: 2}) doubles the size and keeps the cells where they were", async () => {
  const img = await decodePng(await svgToPng(QUADRANTS, { scale: 2 }));
  assert.deepEqual([img.width, img.height], [40, 40]);
  assert.deepEqual(rgbAt(img, 10, 10), [8, 48, 107]);
  assert.deepEqual(rgbAt(img, 30, 30), [0, 255, 0]);
});

Deno.test("svgToPng() draws text with the bundled font (a label darkens pixels of a white picture)", async () => {
  const svg = (label: string) =>
    `<svg xmlns="http://www.w3.org/2000/svg" width="60" height="20"><rect width="60" height="20" fill="white"/>` +
    `<text x="2" y="15" style="font-family:ui-sans-serif,system-ui,sans-serif;font-size:14px">${label}</text></svg>`;
  const dark = (img: Awaited<ReturnType<typeof decodePng>>) => {
    let n = 0;
    for (let y = 0; y < img.height; y++) {
      for (let x = 0; x < img.width; x++) if (rgbAt(img, x, y)[0] < 128) n++;
    }
    return n;
  };
  assert.equal(dark(await decodePng(await svgToPng(svg("")))), 0);
  assert.ok(dark(await decodePng(await svgToPng(svg("chunk")))) > 20, "the label left no dark pixels");
});

Deno.test("svgToPng() says what was wrong with a document it cannot read or a bad scale", async () => {
  await assert.rejects(
    svgToPng("<svg"),
    (e) => e instanceof VizInputError && /^Cannot rasterize SVG: /.test(e.message),
  );
  await assert.rejects(svgToPng(QUADRANTS, { scale: 0 }), /expected a positive scale, got 0/);
});

Deno.test("showMask()'s Jupyter bundle has the PNG of its own SVG beside it: the same size, attended cells dark blue", async () => {
  const figure = showMask([[1, 0], [1, 1]], { chunks: 2 });
  const bundle = await figure[JUPYTER_DISPLAY]();
  assert.equal(bundle["image/svg+xml"], figure.svg);
  const png = fromB64(bundle["image/png"] as string);
  assert.equal(base64(png), base64(await svgToPng(figure.svg)));
  const img = await decodePng(png);
  assert.deepEqual([img.width, img.height], [figure.width, figure.height]);
  // the cells' rectangles in the SVG: attended [0,0] and blocked [0,1]
  const cell = (x: number, y: number) => rgbAt(img, Math.round(x), Math.round(y));
  const [, x0, y0, w] = /<g class="cells"><rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)"/.exec(figure.svg)!
    .map(
      Number,
    );
  assert.deepEqual(cell(x0 + w / 2, y0 + w / 2), [8, 48, 107]);
  assert.deepEqual(cell(x0 + w * 1.5, y0 + w / 2), [255, 255, 255]);
});

Deno.test("every picture helper's Jupyter bundle carries both image/png and image/svg+xml", async () => {
  const frames = { data: new Float32Array(2 * 4 * 4 * 3).fill(0.5), shape: [2, 4, 4, 3] };
  const figures = {
    showMask: showMask([[1, 0], [1, 1]]),
    showFrames: showFrames(frames, { chunks: 2 }),
    showSpectrogram: showSpectrogram([[0, -1], [-2, -3], [-1, 0], [0, 0]], { chunks: 2 }),
    showInfluence: showInfluence([[1, 0], [0.5, 1]]),
    lossChart: lossChart([{ step: 0, loss: 2 }, { step: 1, loss: 1 }]),
  };
  for (const [name, figure] of Object.entries(figures)) {
    const bundle = await figure[JUPYTER_DISPLAY]();
    assert.ok(typeof bundle["image/svg+xml"] === "string", `${name}: no SVG`);
    const img = await decodePng(fromB64(bundle["image/png"] as string));
    assert.ok(img.width > 10 && img.height > 10, `${name}: PNG ${img.width}x${img.height}`);
  }
});
