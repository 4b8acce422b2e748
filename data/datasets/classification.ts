/**
 * Audio-video classification lists (Kinetics-Sound, VGG-Sound, EPIC-Sounds style): a CSV with a
 * header naming at least a video column and a label column. Labels are indexed in sorted order
 * unless the caller fixes the label list (so that train and test splits agree).
 *
 * Items are trained as the paper evaluates them (open-ended, Sec. 4): the answer to
 * `CLASSIFICATION_PROMPT`, framed `BOS prompt SEP label EOS` (data/examples.ts).
 */
import { Effect } from "effect";
import { BadAnnotation, type ClassificationItem, indexVideos, readText } from "./annotation.ts";
import { parseCsv } from "./csv.ts";

/**
 * The paper's classification prompt. inference/classify.ts prompts with the same text (its
 * CLASSIFY_PROMPT; data/ and inference/ may not import each other, tests/data/examples_test.ts
 * checks the two agree), so training and evaluation frame a class alike.
 */
export const CLASSIFICATION_PROMPT = "Classify the video audio clip.";

export type ClassificationFiles = {
  readonly annotations: string;
  readonly videoRoot: string;
  /** column names; default `video` and `label` */
  readonly columns?: { readonly video?: string; readonly label?: string };
  /** the label vocabulary; a row with another label is a BadAnnotation */
  readonly labels?: readonly string[];
};

export function loadClassificationCsv(
  files: ClassificationFiles,
): Effect.Effect<ClassificationItem[], BadAnnotation> {
  const videoColumn = files.columns?.video ?? "video", labelColumn = files.columns?.label ?? "label";
  return Effect.gen(function* () {
    const index = yield* indexVideos(files.videoRoot);
    const records = yield* parseCsv(files.annotations, yield* readText(files.annotations), [
      videoColumn,
      labelColumn,
    ]);
    const labels = files.labels ?? [...new Set(records.map((r) => r.fields[labelColumn]))].sort();
    const labelIndex = new Map(labels.map((l, i) => [l, i]));
    const seen = new Map<string, number>();
    const items: ClassificationItem[] = [];
    for (const { line, fields } of records) {
      const label = fields[labelColumn], videoId = fields[videoColumn];
      const k = labelIndex.get(label);
      if (k === undefined) {
        return yield* new BadAnnotation({
          file: files.annotations,
          line,
          reason: `label ${JSON.stringify(label)} is not one of the ${labels.length} given labels`,
        });
      }
      // a video listed twice (several segments) still gets distinct ids
      const n = seen.get(videoId) ?? 0;
      seen.set(videoId, n + 1);
      items.push({
        kind: "classification",
        id: n === 0 ? videoId : `${videoId}#${n}`,
        videoId,
        video: yield* index.resolve({ file: files.annotations, line }, videoColumn, videoId),
        label,
        labelIndex: k,
        source: { file: files.annotations, line },
      });
    }
    return items;
  });
}
