import assert from "node:assert/strict";
import {
  ALLOWED,
  floors,
  folderOf,
  importCircles,
  importGraph,
  ruleViolations,
} from "../scripts/import_graph.ts";

const ROOT = new URL("..", import.meta.url).pathname.replace(/\/$/, "");
const graph = await importGraph(ROOT);

Deno.test("no source file is part of an import circle", () => {
  assert.deepEqual(importCircles(graph), []);
});

Deno.test("imports run one way: formats, transforms <- model <- inference | train <- export; data alone", () => {
  assert.deepEqual(ruleViolations(graph), []);
  // The rule itself keeps inference and training apart, and the network below both.
  assert.ok(!ALLOWED.inference.includes("train") && !ALLOWED.train.includes("inference"));
  assert.ok(!ALLOWED.model.some((f) => ["inference", "train", "data", "export"].includes(f)));
});

Deno.test("model/ holds the network: mirasol.ts is its top file (only mod.ts re-exports above it)", () => {
  const f = floors(graph, "model");
  const top = f.get("model/mirasol.ts")!;
  const above = [...f.entries()].filter(([file, floor]) => floor >= top && file !== "model/mirasol.ts");
  assert.deepEqual(above.map(([file]) => file), ["model/mod.ts"]);
  for (const file of graph.files.filter((x) => folderOf(x) === "model")) {
    assert.doesNotMatch(file, /generate|beam|classify|stream|train|checkpoint|eval/, file);
  }
});

Deno.test("comments and messages in library code never point at an issue tracker that is not in the repo", async () => {
  const offenders: string[] = [];
  for (const file of graph.files.filter((x) => ALLOWED[folderOf(x)] !== undefined || x === "mod.ts")) {
    const text = await Deno.readTextFile(`${ROOT}/${file}`);
    text.split("\n").forEach((line, i) => {
      if (/\bissue\s*#?\d+|\bthe issue'?s?\b/i.test(line)) offenders.push(`${file}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offenders, []);
});
