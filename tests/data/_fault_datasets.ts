/** The annotation-row and video-path rows of the fault table (see fault_table.ts). */
import { join } from "node:path";
import { loadActivityNetQa, loadMsrvttQa, loadNextQa } from "../../data/datasets/qa_datasets.ts";
import { loadClassificationCsv } from "../../data/datasets/classification.ts";
import { type FaultCase, write } from "./_fault_case.ts";

export function datasetFaults(dir: string): FaultCase[] {
  const videos = join(dir, "videos");
  Deno.mkdirSync(videos);
  Deno.writeFileSync(join(videos, "video7010.mp4"), new Uint8Array(0));
  const msrvtt = (name: string, rows: unknown) => ({
    annotations: write(dir, name, typeof rows === "string" ? rows : JSON.stringify(rows, null, 1)),
    videoRoot: videos,
  });
  const row = { video_id: 7010, question: "what is it?", answer: "a dog" };
  const anetQ = write(
    dir,
    "anet_q.json",
    JSON.stringify([{ question_id: "q1", video_name: "abc", question: "?" }]),
  );
  const anetA = write(dir, "anet_a.json", JSON.stringify([{ question_id: "q1", answer: false }]));
  const anetOther = write(dir, "anet_a2.json", JSON.stringify([{ question_id: "q2", answer: "yes" }]));
  const csv = (name: string, text: string) => ({ annotations: write(dir, name, text), videoRoot: videos });

  // tokenizer files: a small valid byte-level BPE, then one fault each
  return [
    // ---- annotation rows
    {
      name: "an MSRVTT-QA video_id of the wrong type",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("types.json", [row, { ...row, video_id: true }])),
      tag: "BadAnnotation",
      message: /types\.json:7: field video_id: Expected a non-empty string or a number, got true/,
    },
    {
      name: "an MSRVTT-QA row without an answer",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("noanswer.json", [{ video_id: 1, question: "q" }])),
      tag: "BadAnnotation",
      message: /noanswer\.json:2: field answer: missing/,
    },
    {
      name: "an MSRVTT-QA entry that is not an object",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("number.json", "[\n 7\n]")),
      tag: "BadAnnotation",
      message: /number\.json:2: entry: Expected object, got 7/,
    },
    {
      name: "an MSRVTT-QA file that is not a list",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("object.json", { a: 1 })),
      tag: "BadAnnotation",
      message: /object\.json:1: expected a JSON array of entries/,
    },
    {
      name: "an MSRVTT-QA file with a syntax error",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("syntax.json", '[\n {"video_id": 1,\n "question": }\n]')),
      tag: "BadAnnotation",
      message: /syntax\.json:2: invalid JSON/,
    },
    {
      name: "an empty question",
      kind: "annotation",
      run: () => loadMsrvttQa(msrvtt("blank.json", [{ ...row, question: "  " }])),
      tag: "BadAnnotation",
      message: /blank\.json:2: field question: Expected a non-empty string/,
    },
    {
      name: "an ActivityNet-QA answer that is not text",
      kind: "annotation",
      run: () => loadActivityNetQa({ questions: anetQ, answers: anetA, videoRoot: videos }),
      tag: "BadAnnotation",
      message: /anet_a\.json:1: field answer: Expected a non-empty string or a number, got false/,
    },
    {
      name: "an ActivityNet-QA question without an answer",
      kind: "annotation",
      run: () => loadActivityNetQa({ questions: anetQ, answers: anetOther, videoRoot: videos }),
      tag: "BadAnnotation",
      message: /anet_q\.json:1: question_id q1 has no answer/,
    },
    {
      name: "a NExT-QA answer index past the candidates",
      kind: "annotation",
      run: () => loadNextQa(csv("next.csv", "video,question,answer,qid,a0,a1\nv,q,5,1,x,y\n")),
      tag: "BadAnnotation",
      message: /next\.csv:2: answer must be a candidate index 0\.\.1, got "5"/,
    },
    {
      name: "a NExT-QA file without its qid column",
      kind: "annotation",
      run: () => loadNextQa(csv("next_cols.csv", "video,question,answer\nv,q,a\n")),
      tag: "BadAnnotation",
      message: /next_cols\.csv:1: header lacks column qid/,
    },
    {
      name: "a class label outside the given list",
      kind: "annotation",
      run: () => loadClassificationCsv({ ...csv("labels.csv", "video,label\nv,cat\n"), labels: ["dog"] }),
      tag: "BadAnnotation",
      message: /labels\.csv:2: label "cat" is not one of the 1 given labels/,
    },
    {
      name: "a ragged CSV row",
      kind: "annotation",
      run: () => loadClassificationCsv(csv("ragged.csv", "video,label\nv,dog,extra\n")),
      tag: "BadAnnotation",
      message: /ragged\.csv:2: expected 2 fields as in the header, got 3/,
    },
    {
      name: "a video root that does not exist",
      kind: "annotation",
      run: () =>
        loadMsrvttQa({
          annotations: msrvtt("ok.json", [row]).annotations,
          videoRoot: join(dir, "no_videos"),
        }),
      tag: "BadAnnotation",
      message: /no_videos: video root is not a readable folder/,
    },

    // ---- paths leading outside the video root
    {
      name: "a video_id of ../../..",
      kind: "path",
      run: () => loadMsrvttQa(msrvtt("up.json", [{ ...row, video_id: "../../.." }])),
      tag: "BadAnnotation",
      message: /up\.json:2: field video_id "\.\.\/\.\.\/\.\." leads outside the video root/,
    },
    {
      name: "an absolute video_id",
      kind: "path",
      run: () => loadMsrvttQa(msrvtt("abs.json", [{ ...row, video_id: "/etc/passwd" }])),
      tag: "BadAnnotation",
      message: /field video_id "\/etc\/passwd" leads outside the video root/,
    },
    {
      name: "an ActivityNet video_name climbing out",
      kind: "path",
      run: () =>
        loadActivityNetQa({
          questions: write(
            dir,
            "anet_up.json",
            JSON.stringify([{ question_id: "q1", video_name: "../../x", question: "?" }]),
          ),
          answers: write(dir, "anet_a3.json", JSON.stringify([{ question_id: "q1", answer: "y" }])),
          videoRoot: videos,
        }),
      tag: "BadAnnotation",
      message: /anet_up\.json:1: field video_name "\.\.\/\.\.\/x" leads outside/,
    },
    {
      name: "a NExT-QA video column climbing out",
      kind: "path",
      run: () => loadNextQa(csv("next_up.csv", "video,question,answer,qid\n../../x,q,a,1\n")),
      tag: "BadAnnotation",
      message: /next_up\.csv:2: field video "\.\.\/\.\.\/x" leads outside/,
    },
    {
      name: "a class-list video climbing out",
      kind: "path",
      run: () => loadClassificationCsv(csv("class_up.csv", "video,label\n../../../etc/shadow,dog\n")),
      tag: "BadAnnotation",
      message: /class_up\.csv:2: field video "\.\.\/\.\.\/\.\.\/etc\/shadow" leads outside/,
    },
  ];
}
