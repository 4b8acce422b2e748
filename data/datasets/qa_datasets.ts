/**
 * Question-answering annotation files of the paper's benchmarks (Mirasol3B §4.1), read from local
 * paths: MSRVTT-QA (a JSON list of {video_id, question, answer}), ActivityNet-QA (question and
 * answer JSON lists joined by question_id) and NExT-QA (CSV; multiple choice when a0..a4 exist).
 * Every row is checked; the first unreadable one fails the load with a `BadAnnotation`.
 */
import { Effect, Schema } from "effect";
import {
  BadAnnotation,
  decodeEntry,
  indexVideos,
  parseJsonArray,
  type QaItem,
  readText,
  type Source,
  text,
  TextField,
} from "./annotation.ts";
import { parseCsv } from "./csv.ts";
import { NonBlankString } from "../schema_decode.ts";

const MsrvttEntry = Schema.Struct({
  video_id: TextField,
  question: TextField,
  answer: TextField,
  id: Schema.optionalKey(TextField),
});
const ActivityNetAnswer = Schema.Struct({
  question_id: TextField,
  answer: TextField,
  type: Schema.optionalKey(TextField),
});
const ActivityNetQuestion = Schema.Struct({
  question_id: TextField,
  video_name: TextField,
  question: TextField,
});
const NextQaRecord = Schema.Struct({
  video: NonBlankString,
  question: NonBlankString,
  answer: NonBlankString,
  qid: NonBlankString,
  type: Schema.optionalKey(Schema.String),
});

export type QaFiles = { readonly annotations: string; readonly videoRoot: string };

/** MSRVTT-QA: `[{"id": 0, "video_id": 7010 | "video7010", "question": "...", "answer": "..."}]`. */
export function loadMsrvttQa(files: QaFiles): Effect.Effect<QaItem[], BadAnnotation> {
  return Effect.gen(function* () {
    const index = yield* indexVideos(files.videoRoot);
    const { entries, lines } = yield* parseJsonArray(files.annotations, yield* readText(files.annotations));
    const items: QaItem[] = [];
    for (let i = 0; i < entries.length; i++) {
      const source: Source = { file: files.annotations, line: lines[i] ?? 0 };
      const entry = yield* decodeEntry(MsrvttEntry, entries[i], source);
      const rawVideo = text(entry.video_id);
      // the released files number videos (7010); the clips are named video7010.mp4
      const videoId = /^\d+$/.test(rawVideo) ? `video${rawVideo}` : rawVideo;
      items.push({
        kind: "qa",
        id: entry.id !== undefined ? text(entry.id) : `${videoId}#${i}`,
        videoId,
        video: yield* index.resolve(source, "video_id", videoId, rawVideo),
        question: text(entry.question),
        answer: text(entry.answer),
        source,
      });
    }
    return items;
  });
}

export type ActivityNetQaFiles = {
  readonly questions: string;
  readonly answers: string;
  readonly videoRoot: string;
};

/**
 * ActivityNet-QA: `<split>_q.json` = `[{question, question_id, video_name}]` and
 * `<split>_a.json` = `[{answer, question_id, type}]`; videos are `v_<video_name>.mp4`.
 */
export function loadActivityNetQa(files: ActivityNetQaFiles): Effect.Effect<QaItem[], BadAnnotation> {
  return Effect.gen(function* () {
    const index = yield* indexVideos(files.videoRoot);
    const a = yield* parseJsonArray(files.answers, yield* readText(files.answers));
    const answers = new Map<string, { answer: string; type?: string }>();
    for (let i = 0; i < a.entries.length; i++) {
      const source: Source = { file: files.answers, line: a.lines[i] ?? 0 };
      const entry = yield* decodeEntry(ActivityNetAnswer, a.entries[i], source);
      const qid = text(entry.question_id);
      if (answers.has(qid)) {
        return yield* new BadAnnotation({ ...source, reason: `question_id ${qid} is answered twice` });
      }
      answers.set(qid, {
        answer: text(entry.answer),
        type: entry.type === undefined ? undefined : text(entry.type),
      });
    }
    const q = yield* parseJsonArray(files.questions, yield* readText(files.questions));
    const items: QaItem[] = [];
    for (let i = 0; i < q.entries.length; i++) {
      const source: Source = { file: files.questions, line: q.lines[i] ?? 0 };
      const entry = yield* decodeEntry(ActivityNetQuestion, q.entries[i], source);
      const qid = text(entry.question_id),
        videoName = text(entry.video_name),
        question = text(entry.question);
      const answer = answers.get(qid);
      if (answer === undefined) {
        return yield* new BadAnnotation({
          ...source,
          reason: `question_id ${qid} has no answer in ${files.answers}`,
        });
      }
      const video = yield* index.resolve(source, "video_name", `v_${videoName}`, videoName);
      items.push({
        kind: "qa",
        id: qid,
        videoId: videoName,
        video,
        question,
        answer: answer.answer,
        questionType: answer.type,
        source,
      });
    }
    return items;
  });
}

/**
 * NExT-QA CSV: `video,frame_count,width,height,question,answer,qid,type,a0,a1,a2,a3,a4`. With the
 * candidate columns the answer is the index of the right one (multiple choice); without them
 * (NExT-OE) it is the answer text.
 */
export function loadNextQa(files: QaFiles): Effect.Effect<QaItem[], BadAnnotation> {
  return Effect.gen(function* () {
    const index = yield* indexVideos(files.videoRoot);
    const records = yield* parseCsv(files.annotations, yield* readText(files.annotations), [
      "video",
      "question",
      "answer",
      "qid",
    ]);
    const items: QaItem[] = [];
    for (const { line, fields } of records) {
      const source: Source = { file: files.annotations, line };
      yield* decodeEntry(NextQaRecord, fields, source);
      const choiceColumns = ["a0", "a1", "a2", "a3", "a4"].filter((c) => c in fields);
      let answer = fields.answer, choices: string[] | undefined, answerIndex: number | undefined;
      if (choiceColumns.length > 0) {
        choices = choiceColumns.map((c) => fields[c]);
        answerIndex = Number(fields.answer);
        if (!Number.isInteger(answerIndex) || answerIndex < 0 || answerIndex >= choices.length) {
          return yield* new BadAnnotation({
            ...source,
            reason: `answer must be a candidate index 0..${choices.length - 1}, got ${
              JSON.stringify(fields.answer)
            }`,
          });
        }
        answer = choices[answerIndex];
      }
      const videoId = fields.video;
      items.push({
        kind: "qa",
        id: `${videoId}_${fields.qid}`,
        videoId,
        video: yield* index.resolve(source, "video", videoId),
        question: fields.question,
        answer,
        choices,
        answerIndex,
        questionType: fields.type || undefined,
        source,
      });
    }
    return items;
  });
}
