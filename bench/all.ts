/**
 * `deno task bench`: every benchmark of issue 10 §4, each printing its Markdown table(s), in one
 * run. Tables are printed as soon as each benchmark finishes. Pick a subset with
 * `--only matmul,wsmall,combiner,wasm_profile,tf`.
 */
import { combinerCostTables } from "./combiner_cost.ts";
import { squareMatmulTable, wasmFormsTable } from "./matmul.ts";
import { markdownTable, type Table } from "./_table.ts";
import { tfSavedModelTables } from "./tf_savedmodel.ts";
import { wasmProfileTables } from "./wasm_profile.ts";
import { wsmallTables } from "./wsmall.ts";

const BENCHES: Record<string, () => Promise<Table[]>> = {
  matmul: async () => [await squareMatmulTable(["wasm", "cpu", "webgpu"]), await wasmFormsTable()],
  wsmall: () => wsmallTables(["wasm", "cpu", "webgpu"]),
  combiner: () => combinerCostTables([2, 4, 8, 16, 32]),
  wasm_profile: () => wasmProfileTables(),
  tf: () => tfSavedModelTables(),
};

const arg = Deno.args.indexOf("--only");
const names = arg >= 0 ? Deno.args[arg + 1].split(",") : Object.keys(BENCHES);
const unknown = names.filter((n) => !(n in BENCHES));
if (unknown.length > 0) {
  console.error(
    `Cannot run benchmarks ${unknown.join(", ")}: choose from ${Object.keys(BENCHES).join(", ")}`,
  );
  Deno.exit(2);
}
for (const name of names) {
  const t0 = performance.now();
  for (const t of await BENCHES[name]()) console.log(`${markdownTable(t)}\n`);
  console.error(`bench ${name}: ${((performance.now() - t0) / 1000).toFixed(0)} s`);
}
