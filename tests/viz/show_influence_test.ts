import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import { showInfluence } from "../../viz/show_influence.ts";
import { VizInputError } from "../../viz/errors.ts";
import { elements, n, rasterizeCells, withClass } from "./_svg_elements.ts";

await setBackend("wasm");

/** The text of each cell's value label, as a T x T grid, located by position. */
function cellTexts(svg: string, T: number): string[][] {
  const frame = withClass(elements(svg, "rect"), "plot-frame")[0];
  const cell = n(frame, "width") / T;
  const grid = Array.from({ length: T }, () => Array.from({ length: T }, () => ""));
  for (const m of svg.matchAll(/<text([^>]*)>([^<]*)<\/text>/g)) {
    const [label] = elements(`<text${m[1]}>`, "text");
    if (label.attrs.class !== "cell-value") continue;
    const c = Math.floor((n(label, "x") - n(frame, "x")) / cell),
      r = Math.floor((n(label, "y") - n(frame, "y")) / cell);
    grid[r][c] = m[2];
  }
  return grid;
}

const lowerTriangular = (T: number, v: (t: number, s: number) => number) =>
  Array.from({ length: T }, (_, t) => Array.from({ length: T }, (_, s) => (s <= t ? v(t, s) : 0)));

Deno.test("showInfluence() prints '0' and paints white exactly the zero entries above the diagonal of a causal grid", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 10 }),
      fc.double({ min: 1e-12, max: 1e3, noNaN: true }),
      (T, scale) => {
        const grid = lowerTriangular(T, (t, s) => scale * (1 + t + s));
        const fig = showInfluence(grid);
        const texts = cellTexts(fig.svg, T), fills = rasterizeCells(fig.svg, T, T);
        for (let t = 0; t < T; t++) {
          for (let s = 0; s < T; s++) {
            assert.equal(texts[t][s] === "0", s > t, `text of [${t}, ${s}] is ${texts[t][s]}`);
            assert.equal(fills[t][s] === "#ffffff", s > t, `fill of [${t}, ${s}] is ${fills[t][s]}`);
          }
        }
        assert.equal(withClass(elements(fig.svg, "rect"), "flagged").length, 0);
        assert.match(fig.summary, /zero above the diagonal$/);
      },
    ),
    { numRuns: 100, seed: 5 },
  );
});

Deno.test("showInfluence() outlines and prints a tiny leak above the diagonal instead of rounding it to zero", () => {
  const grid = lowerTriangular(4, () => 1);
  grid[1][3] = 3e-9;
  const fig = showInfluence(grid);
  assert.equal(cellTexts(fig.svg, 4)[1][3], "3.0e-9");
  assert.notEqual(rasterizeCells(fig.svg, 4, 4)[1][3], "#ffffff");
  const flagged = withClass(elements(fig.svg, "rect"), "flagged");
  assert.equal(flagged.length, 1);
  const frame = withClass(elements(fig.svg, "rect"), "plot-frame")[0];
  const cell = n(frame, "width") / 4;
  assert.deepEqual([
    Math.floor((n(flagged[0], "y") - n(frame, "y")) / cell),
    Math.floor((n(flagged[0], "x") - n(frame, "x")) / cell),
  ], [1, 3]);
  assert.equal(
    fig.summary,
    "chunk influence 4x4, max 1: 1 non-zero entries above the diagonal, first at [1, 3]",
  );
});

Deno.test("showInfluence() labels the axes with the given names and chunk indices", () => {
  const fig = showInfluence(lowerTriangular(3, () => 1), {
    rowLabel: "h_t",
    colLabel: "perturbed video chunk",
  });
  assert.match(fig.svg, />h_t<\/text>/);
  assert.match(fig.svg, />perturbed video chunk<\/text>/);
  assert.equal(withClass(elements(fig.svg, "text"), "col-tick").length, 3);
  assert.equal(withClass(elements(fig.svg, "text"), "row-tick").length, 3);
});

Deno.test("showInfluence() rejects grids that are not matrices or hold NaN", () => {
  assert.throws(
    () => showInfluence([1, 2] as never),
    (e) => e instanceof VizInputError && /expected shape \[T, T\], got \[2\]/.test(e.message),
  );
  assert.throws(() => showInfluence([[NaN]]), /NaN/);
});
