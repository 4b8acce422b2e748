import assert from "node:assert/strict";
import { configs, type MirasolConfig } from "../../model/config.ts";
import { decodeConfig, nearestKey } from "../../model/config_decode.ts";
import { ConfigError } from "../../model/errors.ts";

const t = configs.tiny as MirasolConfig;
const without = <T extends object>(o: T, k: keyof T) =>
  Object.fromEntries(Object.entries(o).filter(([x]) => x !== k));

Deno.test("decodeConfig gives back every preset unchanged (through JSON)", () => {
  for (const [name, c] of Object.entries(configs)) {
    assert.deepEqual(decodeConfig(JSON.parse(JSON.stringify(c))), c, name);
  }
});

const BAD: [string, unknown, RegExp][] = [
  ["a section set to null", { ...t, width: null }, /width: Expected object, got null/],
  ["a missing section", without(t, "width"), /width is missing/],
  ["a missing nested field", { ...t, video: without(t.video, "frames") }, /video\.frames is missing/],
  [
    "a misspelt top-level key",
    { ...t, encoderDepht: 2 },
    /encoderDepht is not a config field \(did you mean 'encoderDepth'\?\)/,
  ],
  [
    "a misspelt nested key",
    { ...t, video: { ...t.video, frame: 8 } },
    /video\.frame is not a config field \(did you mean 'frames'\?\)/,
  ],
  ["a misspelt tube key", {
    ...t,
    video: { ...t.video, tubes: [{ ...t.video.tubes[0], kernal: [1, 2, 2] }] },
  }, /video\.tubes\[0\]\.kernal is not a config field \(did you mean 'kernel'\?\)/],
  ["an unrelated extra key", { ...t, zzzzzzzzzz: 1 }, /zzzzzzzzzz is not a config field$/],
  [
    "a string where a number belongs",
    { ...t, video: { ...t.video, frames: "8" } },
    /video\.frames: Expected number, got "8"/,
  ],
  ["a fractional count", { ...t, encoderDepth: 1.5 }, /encoderDepth: .*1\.5/],
  [
    "an unknown combiner kind",
    { ...t, combiner: { kind: "lstm", layers: 1, outTokens: 2 } },
    /combiner\.kind: .*"lstm"/,
  ],
  ["a ttm combiner missing its memory", {
    ...t,
    combiner: { kind: "ttm", layers: 1, outTokens: 2, processTokens: 4, tokenLearnerHidden: 8 },
  }, /combiner\.memoryTokens is missing/],
  ["a JSON array", [1], /the config: Expected object/],
  [
    "a value validateConfig refuses",
    { ...t, video: { ...t.video, chunks: 3 } },
    /video\.chunks = 3 must divide/,
  ],
];
for (const [what, json, message] of BAD) {
  Deno.test(`decodeConfig of a config with ${what} is a ConfigError naming the field`, () => {
    assert.throws(() => decodeConfig(json, "config file 'x.json'"), (e: unknown) => {
      assert.ok(e instanceof ConfigError, String(e));
      assert.match(e.message, /^Cannot use config file 'x\.json': /);
      assert.match(e.message, message);
      return true;
    });
  });
}

Deno.test("nearestKey suggests only names close enough to be a typo", () => {
  assert.equal(nearestKey("", "shareBackBone"), "shareBackbone");
  assert.equal(nearestKey("text", "vocabb"), "vocab");
  assert.equal(nearestKey("text", "colour"), undefined);
});
