/**
 * The committed notebooks 01-04 (with their outputs, as `deno task notebooks` left them) say what they
 * claim: they match their generator (scripts/build_notebooks.ts), every code cell ran without an error,
 * each cell shows the MIME types and text its `mirasol` metadata promises, and the facts they print hold:
 * influence grids are exactly zero above the diagonal, the 3B count is the model's, TF agrees, and so on.
 * Reads the files only (tests/notebooks_test.ts re-executes them); ANSI codes are stripped before any text
 * is compared.
 */
import assert from "node:assert/strict";
import { join } from "node:path";
import { setBackend } from "../transforms/backend.ts";
import { paramShapes } from "../transforms/param_shapes.ts";
import { countParams } from "../transforms/tree.ts";
import {
  audioTokensPerChunk,
  avqa,
  combinerTokens,
  init,
  paper3b,
  videoTokensPerChunk,
} from "../model/mod.ts";
import { differences, joinSource, type Notebook, NOTEBOOKS } from "../scripts/build_notebooks.ts";

await setBackend("wasm"); // only paramShapes runs, abstractly

const ROOT = join(import.meta.dirname!, "..");
const SVG = "image/svg+xml", HTML = "text/html", VEGA_LITE = "application/vnd.vegalite.v5+json";
const ANSI = new RegExp(String.fromCharCode(27) + "\\[[0-9;?]*[A-Za-z]", "g");

type Output = {
  output_type: string;
  data?: Record<string, unknown>;
  text?: string | string[];
  ename?: string;
  evalue?: string;
};
type Cell = {
  cell_type: string;
  source: string | string[];
  metadata: Record<string, unknown>;
  outputs?: Output[];
  execution_count?: number | null;
};

const stripAnsi = (s: string) => s.replace(ANSI, "");
const textOf = (o: Output) =>
  stripAnsi(
    joinSource((o.text ?? "") as string | string[]) +
      joinSource((o.data?.["text/plain"] ?? "") as string | string[]),
  );
const cellText = (c: Cell) => (c.outputs ?? []).map(textOf).join("\n");
const mimes = (c: Cell) => (c.outputs ?? []).flatMap((o) => Object.keys(o.data ?? {}));

const committed = new Map<string, Notebook>();
for (const spec of NOTEBOOKS) {
  committed.set(
    spec.file,
    JSON.parse(await Deno.readTextFile(join(ROOT, "notebooks", spec.file))) as Notebook,
  );
}
const notebook = (file: string) => committed.get(file)!;
const cells = (file: string) => notebook(file).cells as unknown as Cell[];
/** The code cell whose source contains `marker` (exactly one). */
function cellWith(file: string, marker: string): Cell {
  const found = cells(file).filter((c) => c.cell_type === "code" && joinSource(c.source).includes(marker));
  assert.equal(
    found.length,
    1,
    `${file}: expected one code cell containing ${JSON.stringify(marker)}, found ${found.length}`,
  );
  return found[0];
}
/** The first number group of `pattern` in `text`, or a failure that shows the text. */
function capture(text: string, pattern: RegExp): RegExpMatchArray {
  const m = text.match(pattern);
  assert.ok(m, `expected ${pattern} in:\n${text}`);
  return m;
}

for (const spec of NOTEBOOKS) {
  Deno.test(`${spec.file}: its cells are those of scripts/build_notebooks.ts, on the Deno kernel`, () => {
    const nb = notebook(spec.file);
    assert.deepEqual(differences(spec, nb), []);
    assert.equal((nb.metadata.kernelspec as { name?: string } | undefined)?.name, "deno");
    assert.equal(nb.cells[0].cell_type, "markdown");
    assert.match(joinSource(nb.cells[0].source), /\*\*What this shows\.\*\*/);
  });

  Deno.test(`${spec.file}: every code cell was executed, in order, and none raised an error`, () => {
    const code = cells(spec.file).filter((c) => c.cell_type === "code");
    code.forEach((c, i) =>
      assert.equal(c.execution_count, i + 1, `code cell ${i} has execution_count ${c.execution_count}`)
    );
    for (const c of code) {
      const errors = (c.outputs ?? []).filter((o) => o.output_type === "error" || o.ename !== undefined);
      assert.deepEqual(errors.map((e) => `${e.ename}: ${e.evalue}`), []);
      assert.ok(!/\b(Uncaught|Error: )/.test(cellText(c)), `a cell printed an error:\n${cellText(c)}`);
    }
  });

  Deno.test(`${spec.file}: each cell shows the pictures and text its metadata promises (ANSI stripped)`, () => {
    for (const c of cells(spec.file)) {
      const checks = (c.metadata as { mirasol?: { expect?: string[]; expectText?: string[] } }).mirasol ?? {};
      for (const mime of checks.expect ?? []) {
        assert.ok(mimes(c).includes(mime), `no ${mime} in:\n${joinSource(c.source)}`);
      }
      for (const text of checks.expectText ?? []) {
        assert.ok(
          cellText(c).includes(text),
          `"${text}" missing from the output of:\n${joinSource(c.source)}\n---\n${cellText(c)}`,
        );
      }
    }
  });

  Deno.test(`${spec.file}: outputs name no machine-specific path`, () => {
    for (const c of cells(spec.file)) assert.doesNotMatch(cellText(c), /\/(tmp|work|home|root)\//);
  });
}

// --- 01: causality --------------------------------------------------------------------------------

const KINDS = ["causal_transformer", "ttm", "perceiver", "cls"] as const;

Deno.test("01: the mask pictures are SVG heatmaps with the chunk boundaries drawn (3 + 3 lines for 4 chunks)", () => {
  for (const marker of ["chunkCausalMask(4, 3)", "chunkCausalCrossMask(4, 2, 3)"]) {
    const svg = joinSource(
      cellWith("01_causality.ipynb", marker).outputs!.find((o) => o.data?.[SVG])!.data![SVG] as string[],
    );
    assert.match(svg, /^<svg[^>]*xmlns="http:\/\/www.w3.org\/2000\/svg"/);
    assert.equal(svg.match(/class="chunk-boundary" data-axis="row"/g)?.length, 3);
    assert.equal(svg.match(/class="chunk-boundary" data-axis="col"/g)?.length, 3);
  }
});

Deno.test("01: the live property held in all 100 cases, and without the mask fast-check found a counter-example", () => {
  assert.match(
    cellText(cellWith("01_causality.ipynb", "const withMask")),
    /^causality held in 100 of 100 random cases/,
  );
  const noMask = cellText(cellWith("01_causality.ipynb", "const noMask"));
  const moved = Number(capture(noMask, /chunks before t' moved by ([0-9.e+-]+)/)[1]);
  assert.ok(moved > 0, noMask);
});

for (const kind of KINDS) {
  Deno.test(`01: ${kind}: x_t and h_t do not move for a later chunk's video (exact zeros above the diagonal), and do for their own`, () => {
    const cell = cellWith("01_causality.ipynb", `showCombiner("${kind}")`);
    assert.equal(mimes(cell).filter((m) => m === SVG).length, 2, "one heatmap for x, one for h");
    const text = cellText(cell);
    for (const stage of ["x", "h"]) {
      const grid = JSON.parse(
        capture(text, new RegExp(`influence ${kind} ${stage} = (\\[.*\\]\\])`))[1],
      ) as number[][];
      assert.equal(grid.length, 4);
      grid.forEach((row, t) =>
        row.forEach((v, tp) => {
          if (tp > t) assert.equal(v, 0, `${stage}_${t} moved by ${v} when chunk ${tp} changed`);
          if (tp === t) assert.ok(v > 0, `${stage}_${t} ignored its own chunk`);
          if (stage === "h" && tp < t) assert.ok(v > 0, `h_${t} ignored earlier chunk ${tp}`);
        })
      );
    }
  });
}

// --- 02: model tour -------------------------------------------------------------------------------

Deno.test("02: the printed paper3b parameter count is what paramShapes(init, paper3b) counts, with nothing allocated", () => {
  const text = cellText(cellWith("02_model_tour.ipynb", "paramShapes(init, paper3b)"));
  const printed = Number(
    capture(text, /paramShapes\(init, paper3b\): ([0-9,]+) parameters, 0 tensors allocated/)[1].replace(
      /,/g,
      "",
    ),
  );
  assert.equal(printed, countParams(paramShapes(init, paper3b)));
  assert.ok(mimes(cellWith("02_model_tour.ipynb", "paramShapes(init, paper3b)")).includes(HTML));
});

Deno.test("02: the stage table gives u_t [1, T, n, D], x_t and h_t [1, T, m, D], logits [1, L, V] for avqa", () => {
  const text = cellText(cellWith("02_model_tour.ipynb", "const out = forward("));
  const T = avqa.video.chunks, D = avqa.width.dim, m = combinerTokens(avqa);
  const n = videoTokensPerChunk(avqa) + audioTokensPerChunk(avqa);
  assert.match(text, new RegExp(`^u_t +\\[1, ${T}, ${n}, ${D}\\]`, "m"));
  assert.match(text, new RegExp(`^x_t +\\[1, ${T}, ${m}, ${D}\\]`, "m"));
  assert.match(text, new RegExp(`^h_t +\\[1, ${T}, ${m}, ${D}\\]`, "m"));
  assert.match(text, new RegExp(`^logits +\\[1, 8, ${avqa.text.vocab}\\]`, "m"));
});

Deno.test("02: the frames and the spectrogram of the synthetic clip are drawn with the same 4 chunks", () => {
  const frames = cellWith("02_model_tour.ipynb", "showFrames("),
    spec = cellWith("02_model_tour.ipynb", "showSpectrogram(");
  assert.ok(mimes(frames).includes(SVG) && mimes(spec).includes(SVG));
  assert.match(cellText(frames), /in 4 chunk\(s\) of 8/);
  assert.match(cellText(spec), /128 frames x 64 mel bins in 4 chunk\(s\)/);
});

// --- 03: train and ask ----------------------------------------------------------------------------

Deno.test("03: the live loss chart is a Vega-Lite spec with every step of every loss term, and the text loss fell", () => {
  const cell = cellWith("03_train_and_ask.ipynb", "await train(");
  const out = cell.outputs!.find((o) => o.data?.[VEGA_LITE])!;
  const spec = out.data![VEGA_LITE] as {
    $schema: string;
    data?: { values?: { step: number; term: string }[] };
  };
  assert.match(spec.$schema, /vega-lite\/v5/);
  const steps = Number(capture(cellText(cell), /(\d+) steps in \d+ s \(completed\)/)[1]);
  const points = spec.data?.values ?? [];
  for (const term of ["total", "text", "latent", "reconstruction"]) {
    assert.equal(points.filter((p) => p.term === term).length, steps, `points of ${term}`);
  }
  const [, before, after] = capture(cellText(cell), /text loss ([0-9.]+) -> ([0-9.]+)/).map(Number);
  assert.ok(after < before, `text loss ${before} -> ${after}`);
});

Deno.test("03: accuracies are printed per question type beside chance, and the streamed answers equal the whole-clip ones", () => {
  const scores = cellText(cellWith("03_train_and_ask.ipynb", "const scoreRows"));
  const overall = Number(capture(scores, /exact match on \d+ held-out questions: ([0-9.]+)%/)[1]);
  assert.ok(overall >= 0 && overall <= 100);
  for (const type of ["first_colour", "pitch", "colour_at_tone", "turned_before_tone"]) {
    assert.match(scores, new RegExp(`${type} +[0-9.]+%  \\(chance [0-9.]+%\\)`));
  }
  const streamed = cellText(cellWith("03_train_and_ask.ipynb", "createStream("));
  const [, agree, total] = capture(streamed, /equal the whole-clip answers: (\d+) of (\d+)/).map(Number);
  assert.ok(total > 0 && agree === total, `${agree} of ${total}`);
  assert.equal(streamed.match(/after chunk \d of 4: /g)?.length, 4);
});

// --- 04: export -----------------------------------------------------------------------------------

Deno.test("04: the graph model reloaded by tfjs-converter matches eager, and TensorFlow matches TypeScript", () => {
  const gm = cellText(cellWith("04_export_to_tensorflow.ipynb", "exportGraphModel("));
  for (const m of gm.matchAll(/relative error ([0-9.e+-]+)/g)) assert.ok(Number(m[1]) <= 1e-5, gm);
  const tf = cellText(cellWith("04_export_to_tensorflow.ipynb", "check_savedmodel.py"));
  const errors = [...tf.matchAll(/max relative error ([0-9.e+-]+)/g)].map((m) => Number(m[1]));
  assert.equal(errors.length, 4, tf); // forward, encode, loss outputs and the gradients
  errors.forEach((e) => assert.ok(e <= 1e-3, tf));
  const [, first, last] = capture(tf, /loss ([0-9.]+) -> ([0-9.]+)/).map(Number);
  assert.ok(last < first, tf);
});

Deno.test("04: the traced graph summary lists its ops, and the SavedModel has its three signatures and files", () => {
  const summary = cellText(cellWith("04_export_to_tensorflow.ipynb", "traceSignature("));
  const [, nodes, args] = capture(summary, /forward: (\d+) nodes \((\d+) arguments/).map(Number);
  assert.ok(nodes > args && args > 0);
  const saved = cellText(cellWith("04_export_to_tensorflow.ipynb", "exportSavedModel("));
  for (const s of ["encode", "forward", "loss"]) {
    assert.match(saved, new RegExp(`signature ${s}: \\d+ nodes`));
  }
  for (
    const f of ["saved_model.pb", "variables/variables.index", "variables/variables.data-00000-of-00001"]
  ) assert.ok(saved.includes(f));
});
