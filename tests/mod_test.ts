import assert from "node:assert/strict";
import * as api from "../mod.ts";

/** The names each issue's "done when" promises from mod.ts. */
const PROMISED: Record<string, readonly string[]> = {
  "functional core": [
    "PRNGKey",
    "split",
    "foldIn",
    "treeMap",
    "treeFlatten",
    "treeUnflatten",
    "countParams",
    "paramShapes",
    "valueAndGrad",
    "chunkCausalMask",
    "layers",
    "setBackend",
  ],
  model: ["configs", "withFrames", "init", "forward", "loss"],
  "generation and streaming": ["generate", "createStream", "exactMatch", "classify"],
  training: [
    "adamw",
    "sgd",
    "clipByGlobalNorm",
    "warmupCosine",
    "trainStep",
    "train",
    "saveCheckpoint",
    "loadCheckpoint",
  ],
  data: [
    "decodeClip",
    "logMel",
    "chunkAlign",
    "byteTokenizer",
    "loadHfTokenizer",
    "loadSentencePiece",
    "wordTokenizer",
    "loadMsrvttQa",
    "loadActivityNetQa",
    "loadNextQa",
    "loadClassificationCsv",
    "synthetic",
    "batches",
    "writeTFRecords",
  ],
  export: ["trace", "exportSavedModel", "exportGraphModel"],
  viz: ["showMask", "showFrames", "showSpectrogram", "showParams", "lossChart", "showInfluence"],
};

for (const [issue, names] of Object.entries(PROMISED)) {
  Deno.test(`mod.ts exports every ${issue} name the issues promise`, () => {
    const missing = names.filter((n) => (api as Record<string, unknown>)[n] === undefined);
    assert.deepEqual(missing, []);
  });
}

Deno.test("mod.ts exports the four model configs and the layer namespace with an apply for every init", () => {
  for (const c of ["tiny", "small", "base", "paper3b"]) assert.ok(c in api.configs, c);
  for (const [name, layer] of Object.entries(api.layers)) {
    const l = layer as Record<string, unknown>;
    const inits = Object.keys(l).filter((k) => /^init[A-Z]?/.test(k) && typeof l[k] === "function");
    for (const i of inits) assert.equal(typeof l[i.replace(/^init/, "apply")], "function", `${name}.${i}`);
  }
});
