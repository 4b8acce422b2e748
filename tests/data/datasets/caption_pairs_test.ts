import assert from "node:assert/strict";
import { Effect } from "effect";
import { join } from "node:path";
import { setBackend } from "../../../transforms/backend.ts";
import { BadAnnotation } from "../../../data/datasets/annotation.ts";
import { loadCaptionPairs } from "../../../data/datasets/caption_pairs.ts";

await setBackend("wasm");

const root = await Deno.makeTempDir({ prefix: "caption_pairs_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const videos = join(root, "videos");
await Deno.mkdir(join(videos, "nested"), { recursive: true });
for (const v of ["a.mp4", "nested/b.webm"]) await Deno.writeFile(join(videos, v), new Uint8Array(1));

async function load(name: string, content: string) {
  const annotations = join(root, name);
  await Deno.writeTextFile(annotations, content);
  return await Effect.runPromise(Effect.result(loadCaptionPairs({ annotations, videoRoot: videos })));
}

function failure(r: Awaited<ReturnType<typeof load>>): BadAnnotation {
  assert.equal(r._tag, "Failure", "the load succeeded");
  const e = (r as { failure: BadAnnotation }).failure;
  assert.ok(e instanceof BadAnnotation);
  return e;
}

Deno.test("loadCaptionPairs() reads a CSV of video,caption with quoted commas and finds nested videos", async () => {
  const r = await load("pairs.csv", 'video,caption\na,"a man, a dog"\nb,birds sing\na,second caption\n');
  assert.equal(r._tag, "Success");
  const items = (r as { success: { id: string; video: string; caption: string; source: { line: number } }[] })
    .success;
  assert.deepEqual(items.map((i) => i.id), ["a", "b", "a#1"]);
  assert.deepEqual(items.map((i) => i.caption), ["a man, a dog", "birds sing", "second caption"]);
  assert.equal(items[1].video, join(videos, "nested/b.webm"));
  assert.deepEqual(items.map((i) => i.source.line), [2, 3, 4]);
});

Deno.test("loadCaptionPairs() reads JSON lines, skipping blank lines and accepting numeric video ids", async () => {
  const r = await load("pairs.jsonl", '{"video": "a", "caption": "one"}\n\n{"video": 7, "caption": "two"}\n');
  assert.equal(r._tag, "Success");
  const items = (r as { success: { videoId: string; caption: string; source: { line: number } }[] }).success;
  assert.deepEqual(items.map((i) => [i.videoId, i.caption, i.source.line]), [["a", "one", 1], [
    "7",
    "two",
    3,
  ]]);
});

Deno.test("a JSON-lines row without a caption fails naming the line and the field", async () => {
  const e = failure(await load("missing.jsonl", '{"video": "a", "caption": "ok"}\n{"video": "b"}\n'));
  assert.equal(e.line, 2);
  assert.match(e.message, /missing\.jsonl:2: field caption: missing/);
});

Deno.test("a JSON-lines caption of the wrong type fails naming the field and the value found", async () => {
  const e = failure(await load("type.jsonl", '{"video": "a", "caption": ["x"]}\n'));
  assert.equal(e.line, 1);
  assert.match(e.message, /field caption: .*\["x"\]/);
});

Deno.test("a row that is not JSON, an empty CSV caption and a missing column each fail naming the line", async () => {
  const bad = failure(await load("syntax.jsonl", '{"video": "a", "caption": "ok"}\n{"video": \n'));
  assert.equal(bad.line, 2);
  assert.match(bad.message, /invalid JSON/);
  const empty = failure(await load("empty.csv", "video,caption\na,fine\nb,\n"));
  assert.equal(empty.line, 3);
  assert.match(empty.message, /column "caption" is empty/);
  const header = failure(await load("header.csv", "video,text\na,x\n"));
  assert.match(header.message, /header lacks column caption/);
});

Deno.test("a caption pair whose video leads outside the root is a BadAnnotation naming the field", async () => {
  const e = failure(await load("escape.jsonl", '{"video": "../../etc/passwd", "caption": "x"}\n'));
  assert.match(e.message, /field video "..\/..\/etc\/passwd" leads outside the video root/);
});
