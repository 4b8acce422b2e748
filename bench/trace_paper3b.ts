/**
 * Trace and export cost per config: paramShapes, tracing each signature (abstract: no weights are
 * allocated), lowering + protobuf encoding, and the inputs-mode SavedModel write, with peak RSS.
 *
 *   deno run -A bench/trace_paper3b.ts [config ...]     (default: tiny small base paper3b)
 *
 * The bar: paper3b traces in under 60 s and 4 GB.
 */
import { Effect } from "effect";
import * as model from "../model/mod.ts";
import { setBackend } from "../transforms/backend.ts";
import { paramShapes } from "../transforms/param_shapes.ts";
import { traceWith } from "../transforms/trace.ts";
import { countParams } from "../transforms/tree.ts";
import { exportSavedModel } from "../export/savedmodel/export.ts";
import { buildSignatureFunction } from "../export/savedmodel/functions.ts";
import { mirasolSignatures } from "../export/savedmodel/mirasol.ts";

await setBackend("wasm");

/** Peak resident set size of this process in MiB (Linux VmHWM), or current RSS elsewhere. */
function peakRssMiB(): number {
  try {
    const m = Deno.readTextFileSync("/proc/self/status").match(/VmHWM:\s+(\d+) kB/);
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux */ }
  return Deno.memoryUsage().rss / 2 ** 20;
}

const time = <T>(f: () => T): [T, number] => {
  const t0 = performance.now();
  const r = f();
  return [r, (performance.now() - t0) / 1000];
};

const names = Deno.args.length ? Deno.args : ["tiny", "small", "base", "paper3b"];
const configs = model.configs as Record<string, model.MirasolConfig>;
const rows: string[][] = [];
for (const name of names) {
  const config = configs[name];
  if (!config) throw new Error(`Unknown config '${name}': choose from ${Object.keys(configs).join(", ")}`);
  const [shapes, shapeSecs] = time(() => paramShapes(model.init, config));
  const sigs = mirasolSignatures(config, { batch: 2, textLength: Math.min(8, config.text.maxLength) });
  let traceSecs = 0, lowerSecs = 0, nodes = 0;
  for (const [sig, spec] of Object.entries(sigs)) {
    const [graph, t] = time(() =>
      traceWith({}, (p, x) => spec.fn(p as model.MirasolParams, x as never), shapes, spec.inputs)
    );
    const [fn, l] = time(() =>
      buildSignatureFunction(graph, {
        fnName: `__inference_${sig}_1`,
        paramMode: "inputs",
        computeDtype: "float32",
      })
    );
    traceSecs += t;
    lowerSecs += l;
    nodes += fn.nodeCount;
  }
  const dir = await Deno.makeTempDir({ prefix: `bench_${name}_` });
  const t0 = performance.now();
  const report = await Effect.runPromise(
    exportSavedModel<model.MirasolParams>(
      { params: shapes, signatures: sigs, paramMode: "inputs" },
      `${dir}/sm`,
    ),
  );
  const exportSecs = (performance.now() - t0) / 1000;
  await Deno.remove(dir, { recursive: true });
  rows.push([
    name,
    `${(countParams(shapes) / 1e6).toFixed(1)}M`,
    shapeSecs.toFixed(2),
    traceSecs.toFixed(2),
    lowerSecs.toFixed(2),
    String(nodes),
    exportSecs.toFixed(2),
    (report.bytes / 2 ** 20).toFixed(1),
    peakRssMiB().toFixed(0),
  ]);
}

const header = [
  "config",
  "params",
  "paramShapes s",
  "trace s (3 sigs)",
  "lower+encode s",
  "TF nodes",
  "export s",
  "saved_model MiB",
  "peak RSS MiB",
];
const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
const line = (cells: string[]) => `| ${cells.map((c, i) => c.padStart(widths[i])).join(" | ")} |`;
console.log(line(header));
console.log(`|${widths.map((w) => "-".repeat(w + 2)).join("|")}|`);
for (const r of rows) console.log(line(r));
console.log(
  `\n${Deno.build.os}/${Deno.build.arch}, ${navigator.hardwareConcurrency} cores; peak RSS is cumulative over the rows.`,
);
