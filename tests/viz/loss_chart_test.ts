import assert from "node:assert/strict";
import fc from "fast-check";
import { compile } from "vega-lite";
import { setBackend } from "../../transforms/backend.ts";
import { lossChart, VEGA_LITE_MIME } from "../../viz/loss_chart.ts";
import { VizInputError } from "../../viz/errors.ts";
import { JUPYTER_DISPLAY } from "../../viz/display.ts";
import { parseXml } from "./_python.ts";

await setBackend("wasm");

const run = (steps: number) =>
  Array.from(
    { length: steps },
    (_, step) => ({
      step: step * 10,
      loss: 3 / (step + 1),
      text_loss: 2 / (step + 1),
      lr: 1e-3,
      split: "train",
    }),
  );

Deno.test("lossChart() spec compiles with vega-lite 5 and holds one point per (row, loss term)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 30 }),
      fc.subarray(["loss", "text_loss", "lr"], { minLength: 1 }),
      (steps, terms) => {
        const chart = lossChart(run(steps), { terms });
        const { spec } = compile(chart.spec as never);
        assert.ok(Array.isArray(spec.marks) && spec.marks.length > 0, "compiled to Vega marks");
        const values =
          (chart.spec.data as { values: { step: number; term: string; value: number }[] }).values;
        assert.equal(values.length, steps * terms.length);
        for (const term of terms) {
          const series = values.filter((v) => v.term === term);
          assert.deepEqual(series.map((v) => v.step), run(steps).map((r) => r.step));
          assert.deepEqual(series.map((v) => v.value), run(steps).map((r) => r[term as "loss"]));
        }
        assert.equal(chart.spec.$schema, "https://vega.github.io/schema/vega-lite/v5.json");
        if (terms.length === 1) {
          assert.equal(chart.spec.facet, undefined);
          assert.equal((chart.spec.encoding as { y: { title: string } }).y.title, terms[0]);
        } else {
          assert.deepEqual(
            (chart.spec.facet as { row: { sort: string[] } }).row.sort,
            terms,
            "one panel per term, in order",
          );
          assert.deepEqual(chart.spec.resolve, { scale: { y: "independent" } });
        }
      },
    ),
    { numRuns: 100, seed: 12 },
  );
});

Deno.test("lossChart() plots the loss terms by default, ignoring step, lr and text fields", () => {
  assert.deepEqual(lossChart(run(3)).terms, ["loss", "text_loss"]);
  assert.deepEqual(lossChart([{ step: 0, accuracy: 0.5, step_time: 1 }]).terms, ["accuracy", "step_time"]);
});

Deno.test("lossChart() reads metrics.jsonl text, counts rows without a step by position, and drops NaN", () => {
  const jsonl = [
    '{"step": 5, "loss": 1}',
    "",
    '{"loss": 0.5}',
    '{"step": 9, "loss": null}',
    '{"step": 12, "loss": 0.25}',
  ].join("\n");
  const chart = lossChart(jsonl);
  assert.deepEqual(chart.points.map((p) => [p.step, p.value]), [[5, 1], [1, 0.5], [12, 0.25]]);
  assert.throws(
    () => lossChart('{"step": 1}\nnot json'),
    (e) => e instanceof VizInputError && /line 2 of the metrics is not JSON/.test(e.message),
  );
});

Deno.test("lossChart({log: true}) uses log y scales and leaves out non-positive values", () => {
  const chart = lossChart([{ step: 0, loss: 0 }, { step: 1, loss: 0.5 }], { log: true });
  assert.deepEqual(chart.points.map((p) => p.step), [1]);
  assert.equal((chart.spec.encoding as { y: { scale: { type: string } } }).y.scale.type, "log");
  compile(chart.spec as never);
});

Deno.test("lossChart() renders in Jupyter as Vega-Lite plus a static SVG drawn by Vega and its PNG, one line per term", async () => {
  const chart = lossChart(run(20), { title: "run 1" });
  const bundle = await chart[JUPYTER_DISPLAY]();
  assert.deepEqual(
    Object.keys(bundle).sort(),
    [VEGA_LITE_MIME, "image/png", "image/svg+xml", "text/plain"].sort(),
  );
  assert.equal(bundle[VEGA_LITE_MIME], chart.spec);
  const [svg] = await parseXml([bundle["image/svg+xml"] as string]);
  assert.equal(svg.tag, "svg");
  const svgText = bundle["image/svg+xml"] as string;
  assert.equal(svgText.match(/aria-roledescription="line mark"/g)?.length, 2, "two line marks");
  assert.match(svgText, />run 1</);
  assert.equal(
    bundle["text/plain"],
    "losses over 20 rows: loss 0.1500 at step 190, text_loss 0.1000 at step 190",
  );
});

Deno.test("lossChart() says which term has no values instead of drawing an empty chart", () => {
  assert.throws(
    () => lossChart([{ step: 0, loss: 1 }], { terms: ["loss", "aux_loss"] }),
    /expected numeric values of 'aux_loss', found none in 1 rows/,
  );
  assert.throws(() => lossChart([{ step: 0 }]), /at least one numeric metric besides 'step'/);
});
