import assert from "node:assert/strict";
import fc from "fast-check";
import { Effect } from "effect";
import { join } from "node:path";
import { setBackend } from "../../transforms/backend.ts";
import { BadAnnotation, jsonArrayEntryLines } from "../../data/datasets/annotation.ts";
import { parseCsv } from "../../data/datasets/csv.ts";
import { loadActivityNetQa, loadMsrvttQa, loadNextQa } from "../../data/datasets/qa_datasets.ts";
import { loadClassificationCsv } from "../../data/datasets/classification.ts";

await setBackend("wasm");

const root = await Deno.makeTempDir({ prefix: "datasets_test_" });
globalThis.addEventListener("unload", () => Deno.removeSync(root, { recursive: true }));
const videos = join(root, "videos");
for (
  const f of [
    "video7010.mp4",
    "video7011.webm",
    "v_abc123.mp4",
    "1001/4010069381.mp4",
    "playing drums/yt1_000010_000020.mp4",
    "playing drums/yt2.mkv",
    "notes.txt",
  ]
) {
  await Deno.mkdir(join(videos, f, ".."), { recursive: true });
  await Deno.writeFile(join(videos, f), new Uint8Array(0));
}
const write = async (name: string, text: string) => {
  await Deno.writeTextFile(join(root, name), text);
  return join(root, name);
};
const run = <A>(e: Effect.Effect<A, BadAnnotation>) => Effect.runPromise(e);
const failure = <A>(e: Effect.Effect<A, BadAnnotation>) => Effect.runPromise(Effect.flip(e));

Deno.test("loadMsrvttQa() reads {video_id, question, answer} entries and finds video<N> files under the root", async () => {
  const file = await write(
    "msrvtt_qa.json",
    JSON.stringify(
      [
        { answer: "dog", id: 0, question: "what is running?", video_id: 7010 },
        { answer: "two", id: 1, question: "how many people?", video_id: "video7011" },
        { answer: "red", id: 2, question: "what colour?", video_id: 9999 },
      ],
      null,
      1,
    ),
  );
  const items = await run(loadMsrvttQa({ annotations: file, videoRoot: videos }));
  assert.deepEqual(items.map((i) => [i.id, i.videoId, i.video, i.question, i.answer]), [
    ["0", "video7010", join(videos, "video7010.mp4"), "what is running?", "dog"],
    ["1", "video7011", join(videos, "video7011.webm"), "how many people?", "two"],
    ["2", "video9999", join(videos, "video9999.mp4"), "what colour?", "red"], // absent: decoding reports it
  ]);
  assert.deepEqual(items.map((i) => i.source.line), [2, 8, 14]);
});

Deno.test("loadMsrvttQa() names the file and line of an entry without an answer", async () => {
  const file = await write(
    "msrvtt_bad.json",
    '[\n  {"video_id": 7010, "question": "q", "answer": "a"},\n  {"video_id": 7010,\n   "question": "q"}\n]',
  );
  const e = await failure(loadMsrvttQa({ annotations: file, videoRoot: videos }));
  assert.ok(e instanceof BadAnnotation);
  assert.equal(e.line, 3);
  assert.equal(
    e.message,
    `Cannot read annotation ${file}:3: field answer: missing`,
  );
  const broken = await write("msrvtt_syntax.json", '[\n {"video_id": 1,\n "question": }\n]');
  const s = await failure(loadMsrvttQa({ annotations: broken, videoRoot: videos }));
  assert.match(s.message, /msrvtt_syntax\.json:2: invalid JSON/); // the entry holding the error starts on line 2
});

Deno.test("loadActivityNetQa() joins questions and answers by question_id and finds v_<name> videos", async () => {
  const q = await write(
    "val_q.json",
    JSON.stringify([
      { question: "is the person outdoors", question_id: "v_abc123_1", video_name: "abc123" },
      { question: "what is he holding", question_id: "v_abc123_2", video_name: "abc123" },
    ]),
  );
  const a = await write(
    "val_a.json",
    JSON.stringify([
      { answer: "racket", question_id: "v_abc123_2", type: 3 },
      { answer: "yes", question_id: "v_abc123_1", type: 6 },
    ]),
  );
  const items = await run(loadActivityNetQa({ questions: q, answers: a, videoRoot: videos }));
  assert.deepEqual(items.map((i) => [i.id, i.answer, i.questionType, i.video]), [
    ["v_abc123_1", "yes", "6", join(videos, "v_abc123.mp4")],
    ["v_abc123_2", "racket", "3", join(videos, "v_abc123.mp4")],
  ]);
  const unanswered = await write(
    "val_a2.json",
    JSON.stringify([{ answer: "yes", question_id: "v_abc123_1", type: 6 }]),
  );
  const e = await failure(loadActivityNetQa({ questions: q, answers: unanswered, videoRoot: videos }));
  assert.match(e.message, /val_q\.json:1: question_id v_abc123_2 has no answer/);
});

const NEXT_HEADER = "video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4\n";

Deno.test("loadNextQa() reads multiple choice rows (quoted commas and newlines) and nested video folders", async () => {
  const file = await write(
    "next_val.csv",
    NEXT_HEADER +
      '4010069381,1200,640,480,why did the boy pick up the ball,2,6,CW,"to throw it, hard",to eat,to throw it,"to hide\nit",to sleep\n' +
      "4010069381,1200,640,480,what did the dog do after,0,7,TN,bark,sit,run,jump,roll\n",
  );
  const items = await run(loadNextQa({ annotations: file, videoRoot: videos }));
  assert.equal(items.length, 2);
  assert.deepEqual(items[0].choices, [
    "to throw it, hard",
    "to eat",
    "to throw it",
    "to hide\nit",
    "to sleep",
  ]);
  assert.equal(items[0].answer, "to throw it");
  assert.equal(items[0].answerIndex, 2);
  assert.equal(items[0].id, "4010069381_6");
  assert.equal(items[0].video, join(videos, "1001/4010069381.mp4"));
  assert.deepEqual(items.map((i) => i.source.line), [2, 4]); // the quoted newline makes row 1 span lines 2-3
});

Deno.test("loadNextQa() rejects an answer that is not a candidate index, naming the line", async () => {
  const file = await write(
    "next_bad.csv",
    NEXT_HEADER + "4010069381,1,1,1,q,1,1,CW,a,b,c,d,e\n4010069381,1,1,1,q,five,2,CW,a,b,c,d,e\n",
  );
  const e = await failure(loadNextQa({ annotations: file, videoRoot: videos }));
  assert.equal(
    e.message,
    `Cannot read annotation ${file}:3: answer must be a candidate index 0..4, got "five"`,
  );
});

Deno.test("loadNextQa() reads the open-ended variant (no candidate columns) with text answers", async () => {
  const file = await write(
    "nextoe.csv",
    "video,frame_count,width,height,question,answer,qid,type\n4010069381,1,1,1,what is the boy holding,ball,3,DO\n",
  );
  const [item] = await run(loadNextQa({ annotations: file, videoRoot: videos }));
  assert.equal(item.answer, "ball");
  assert.equal(item.choices, undefined);
  assert.equal(item.questionType, "DO");
});

Deno.test("loadClassificationCsv() indexes sorted labels and finds clips nested in class folders", async () => {
  const file = await write(
    "ks.csv",
    "video,label\nyt2,playing drums\nyt1_000010_000020,playing drums\nmissing_clip,dog barking\nyt2,playing drums\n",
  );
  const items = await run(loadClassificationCsv({ annotations: file, videoRoot: videos }));
  assert.deepEqual(items.map((i) => [i.id, i.label, i.labelIndex, i.video]), [
    ["yt2", "playing drums", 1, join(videos, "playing drums/yt2.mkv")],
    ["yt1_000010_000020", "playing drums", 1, join(videos, "playing drums/yt1_000010_000020.mp4")],
    ["missing_clip", "dog barking", 0, join(videos, "missing_clip.mp4")],
    ["yt2#1", "playing drums", 1, join(videos, "playing drums/yt2.mkv")],
  ]);
});

Deno.test("loadClassificationCsv() takes other column names and rejects a label outside the given list", async () => {
  const file = await write("vgg.csv", "youtube_id,start,class\nyt2,10,drum\nyt1_000010_000020,20,violin\n");
  const columns = { video: "youtube_id", label: "class" };
  const items = await run(
    loadClassificationCsv({ annotations: file, videoRoot: videos, columns, labels: ["violin", "drum"] }),
  );
  assert.deepEqual(items.map((i) => i.labelIndex), [1, 0]);
  const e = await failure(
    loadClassificationCsv({ annotations: file, videoRoot: videos, columns, labels: ["drum"] }),
  );
  assert.equal(
    e.message,
    `Cannot read annotation ${file}:3: label "violin" is not one of the 1 given labels`,
  );
  const noColumn = await failure(loadClassificationCsv({ annotations: file, videoRoot: videos }));
  assert.match(
    noColumn.message,
    /vgg\.csv:1: header lacks columns video, label \(has youtube_id, start, class\)/,
  );
});

Deno.test("a missing annotation file, a missing video root and a ragged row are BadAnnotations naming the file", async () => {
  const absent = await failure(loadMsrvttQa({ annotations: join(root, "absent.json"), videoRoot: videos }));
  assert.match(absent.message, /^Cannot read annotation .*absent\.json: cannot read the file/);
  const file = await write("ok.csv", "video,label\na,b\n");
  const noRoot = await failure(loadClassificationCsv({ annotations: file, videoRoot: join(root, "nope") }));
  assert.match(noRoot.message, /nope: video root is not a readable folder/);
  const ragged = await write("ragged.csv", "video,label\na,b\nc,d,e\n");
  const r = await failure(loadClassificationCsv({ annotations: ragged, videoRoot: videos }));
  assert.equal(r.message, `Cannot read annotation ${ragged}:3: expected 2 fields as in the header, got 3`);
  const open = await write("open.csv", 'video,label\na,"b\n');
  assert.match(
    (await failure(loadClassificationCsv({ annotations: open, videoRoot: videos }))).message,
    /open\.csv:2: a quoted field is never closed/,
  );
});

Deno.test("annotation rows are decoded at the door: a field of the wrong type is named with what was expected and found", async () => {
  const file = await write(
    "msrvtt_types.json",
    JSON.stringify([{ video_id: 7010, question: "q", answer: "a" }, {
      video_id: true,
      question: "q",
      answer: "a",
    }]),
  );
  const e = await failure(loadMsrvttQa({ annotations: file, videoRoot: videos }));
  assert.equal(
    e.message,
    `Cannot read annotation ${file}:1: field video_id: Expected a non-empty string or a number, got true`,
  );
  const notObject = await write("msrvtt_rows.json", "[\n 3\n]");
  assert.match(
    (await failure(loadMsrvttQa({ annotations: notObject, videoRoot: videos }))).message,
    /:2: entry: Expected object, got 3$/,
  );
  const answers = await write("anet_a_types.json", JSON.stringify([{ question_id: "q1", answer: ["yes"] }]));
  const questions = await write(
    "anet_q_types.json",
    JSON.stringify([{ question_id: "q1", video_name: "abc123", question: "?" }]),
  );
  const a = await failure(loadActivityNetQa({ questions, answers, videoRoot: videos }));
  assert.match(
    a.message,
    /anet_a_types\.json:1: field answer: Expected a non-empty string or a number, got \["yes"\]$/,
  );
});

Deno.test("a video id leading outside the video root is a BadAnnotation naming the line, the field and the root", async () => {
  const evil = ["../../..", "../../etc/passwd", "/etc/passwd", "a/../../b", "ok\u0000.mp4"];
  await fc.assert(
    fc.asyncProperty(fc.constantFrom(...evil), fc.nat(3), async (id, pad) => {
      const rows = [...Array(pad).fill({ video_id: "video7010", question: "q", answer: "a" }), {
        video_id: id,
        question: "q",
        answer: "a",
      }];
      const file = join(root, `evil_${pad}.json`);
      Deno.writeTextFileSync(file, JSON.stringify(rows, null, 1));
      const e = await failure(loadMsrvttQa({ annotations: file, videoRoot: videos }));
      assert.equal(e._tag, "BadAnnotation");
      assert.equal(e.line, 2 + 5 * pad);
      assert.ok(
        e.message.endsWith(`field video_id ${JSON.stringify(id)} leads outside the video root ${videos}`),
        e.message,
      );
    }),
    { numRuns: 100, seed: 12 },
  );
  const csv = await write("next_evil.csv", "video,question,answer,qid\n../../x,q,a,1\n");
  assert.match(
    (await failure(loadNextQa({ annotations: csv, videoRoot: videos }))).message,
    /next_evil\.csv:2: field video "\.\.\/\.\.\/x" leads outside/,
  );
  const inside = await write(
    "inside.json",
    JSON.stringify([{ video_id: "1001/../1001/4010069381", question: "q", answer: "a" }]),
  );
  assert.equal(
    (await run(loadMsrvttQa({ annotations: inside, videoRoot: videos })))[0].video,
    join(videos, "1001/4010069381.mp4"),
  );
});

/** RFC 4180 writer: the oracle the parser must invert. */
const quote = (
  cell: string,
) => (/[",\r\n]/.test(cell) || cell !== cell.trim() ? `"${cell.replaceAll('"', '""')}"` : cell);

Deno.test("parseCsv() inverts an RFC 4180 writer and reports the line each record starts on", () => {
  const cell = fc.string({
    unit: fc.constantFrom("a", "b", " ", ",", '"', "\n", "é", "1"),
    minLength: 1,
    maxLength: 6,
  })
    .map((s) => s.trim()).filter((s) => s.length > 0);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(cell, cell), { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      (rows, crlf) => {
        const eol = crlf ? "\r\n" : "\n";
        const text = ["x,y", ...rows.map(([x, y]) => `${quote(x)},${quote(y)}`)].join(eol) + eol;
        const records = Effect.runSync(parseCsv("t.csv", text, ["x", "y"]));
        assert.deepEqual(records.map((r) => [r.fields.x, r.fields.y]), rows);
        let line = 2;
        records.forEach((r, i) => {
          assert.equal(r.line, line);
          line += 1 + (rows[i][0] + rows[i][1]).split("\n").length - 1;
        });
      },
    ),
    { numRuns: 200, seed: 9 },
  );
});

Deno.test("jsonArrayEntryLines() finds the line of each top-level entry, ignoring brackets inside strings", () => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 6 }), fc.nat(4), (entries, indent) => {
      const text = JSON.stringify(entries, null, indent);
      const lines = jsonArrayEntryLines(text);
      assert.equal(lines.length, entries.length);
      const textLines = text.split("\n");
      lines.forEach((l, i) => {
        // the entry's JSON starts on that line (compact output puts everything on line 1)
        const rest = textLines.slice(l - 1).join("\n");
        assert.ok(
          rest.includes(JSON.stringify(entries[i], null, indent).split("\n")[0].trim()),
          `entry ${i} on line ${l}`,
        );
      });
    }),
    { numRuns: 100, seed: 10 },
  );
});
