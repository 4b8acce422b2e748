import assert from "node:assert/strict";
import { setBackend } from "../../transforms/backend.ts";
import { showFrames, showInfluence, showMask, showParams, showSpectrogram } from "../../viz/mod.ts";
import { byClass, findAll, parseXml } from "./_python.ts";

await setBackend("wasm");

const TRICKY = `a <b> & "c" 'd'`; // user text that must be escaped

Deno.test("every helper's SVG (and showParams' HTML) is well-formed XML by Python's expat parser, sized as it says", async () => {
  const causal = (L: number, n: number) =>
    Array.from(
      { length: L },
      (_, i) => Array.from({ length: L }, (_, j) => (Math.floor(j / n) <= Math.floor(i / n) ? 1 : 0)),
    );
  const figures = [
    showMask(causal(8, 2), { chunks: 4, title: TRICKY }),
    showMask(causal(96, 12), { tokensPerChunk: 12 }), // embedded PNG
    showMask([[0.5, 0], [0.25, 1]]),
    showInfluence([[1, 0], [0.5, 1e-9]], { rowLabel: TRICKY, colLabel: "t′" }),
    showSpectrogram({ data: new Float32Array(40 * 16).map((_, i) => Math.sin(i)), shape: [40, 16] }, {
      chunks: 4,
      title: TRICKY,
    }),
    showFrames({ data: new Float32Array(4 * 5 * 6 * 3).fill(0.5), shape: [4, 5, 6, 3] }, {
      chunks: 2,
      title: TRICKY,
    }),
    showFrames({ data: new Float32Array(2 * 5 * 6), shape: [1, 2, 5, 6, 1] }),
  ];
  const params = showParams({ [TRICKY]: { w: { shape: [2, 3], dtype: "float32" } } });
  const roots = await parseXml([...figures.map((f) => f.svg), params.html]);
  figures.forEach((fig, i) => {
    const root = roots[i];
    assert.equal(root.tag, "svg", `figure ${i}`);
    assert.equal(root.attrs.xmlns, undefined, "namespace parsed as the namespace, not an attribute");
    assert.deepEqual(
      [Number(root.attrs.width), Number(root.attrs.height)],
      [fig.width, fig.height],
      `figure ${i} size`,
    );
    assert.equal(root.attrs.viewBox, `0 0 ${fig.width} ${fig.height}`);
    assert.equal(root.children[0].tag, "title");
  });
  const titles = roots.slice(0, figures.length).map((r) => findAll(r, byClass("title"))[0]?.text);
  assert.equal(titles[0], TRICKY, "the title survives escaping");
  assert.ok(
    findAll(roots[3], (n) => n.tag === "text" && n.text === TRICKY).length === 1,
    "axis labels survive escaping",
  );
  assert.ok(
    findAll(roots.at(-1)!, (n) => n.tag === "span" && n.text === TRICKY).length === 1,
    "param names survive escaping",
  );
});
