/**
 * Scoring on the fixed eval set as the paper scores open-ended QA: the model generates the answer as
 * free text (greedy, inference/generate.ts) after `BOS question SEP`, and inference/eval.ts's exact match
 * compares it with the truth, per question type. The media side runs once per clip; its h is shared by
 * the clip's four questions.
 *
 * Letters: C clips per call, Q = 4C question rows, T chunks, m tokens per chunk, D width.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { QuestionType } from "../../data/synthetic.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import type { MirasolConfig } from "../../model/config.ts";
import { accuracyOf, emptyTally, tallyAdd } from "../../inference/eval.ts";
import { type Generated, generateFromContext } from "../../inference/generate.ts";
import { mediaContext, type MirasolParams } from "../../model/mirasol.ts";
import type { ClipSet } from "./clip_cache.ts";
import { clipMedia, type Modality } from "./examples.ts";
import { type AvqaTask, type Baseline, promptTokens, QUESTION_TYPES, TYPE_LETTER } from "./task.ts";

export type AvqaScores = {
  /** exact match per question type, in [0, 1] */
  readonly byType: Readonly<Record<QuestionType, number>>;
  /** mean over the four types (what picks the best checkpoint) */
  readonly mean: number;
  /** questions scored */
  readonly n: number;
  /** the generated answer of every question, clip-major (4 per clip, in QUESTION_TYPES order) */
  readonly predictions: readonly string[];
  /** a few generated answers with their questions, for eyeballing */
  readonly samples: readonly {
    readonly question: string;
    readonly answer: string;
    readonly predicted: string;
  }[];
};

export type ScoreOptions = {
  readonly config: MirasolConfig;
  readonly tokenizer: Tokenizer;
  readonly task: AvqaTask;
  readonly modality?: Modality;
  /** clips per media batch (default 25) */
  readonly clipsPerCall?: number;
  /** score only the first `limit` clips (default all) */
  readonly limit?: number;
  /** most tokens generated per answer, EOS included (default 4: answers have at most 2 words) */
  readonly maxLen?: number;
};

/**
 * Greedy answers to the four questions of clips `indices` of `set`, clip-major: the media side runs once
 * per clip and its h [C, T, m, D] is repeated for the clip's questions.
 */
export function answerClips(
  params: MirasolParams,
  set: ClipSet,
  indices: readonly number[],
  o: ScoreOptions,
): Generated[] {
  const [N, H, W] = set.frameShape, [F, Mb] = set.audioShape;
  const { video, audio } = clipMedia(set, indices, o.modality);
  const rows = indices.flatMap((c) => set.questions[c]); // Q = 4C, clip-major
  const perClip = rows.length / indices.length;
  return tf.tidy(() => {
    const media = {
      video: tf.tensor5d(video, [indices.length, N, H, W, 3]),
      audio: tf.tensor3d(audio, [indices.length, F, Mb]),
    };
    const h = mediaContext(params, media, o.config); // [C, T, m, D]
    const tiled = tf.gather(h, Int32Array.from(rows, (_, r) => Math.floor(r / perClip))); // [Q, T, m, D]
    return generateFromContext(params, tiled, rows.map((q) => [...promptTokens(o.tokenizer, q.question)]), {
      config: o.config,
      maxLen: o.maxLen ?? 4,
      strategy: { kind: "greedy" },
      eos: o.tokenizer.special.eos,
    });
  });
}

/** Generates the answers of every question of `set`'s clips and scores them by exact match per type. */
export function scoreAvqa(params: MirasolParams, set: ClipSet, o: ScoreOptions): AvqaScores {
  const C = set.scenes.length;
  const clips = Math.min(C, o.limit ?? C), per = o.clipsPerCall ?? 25;
  let tally = emptyTally();
  const samples: { question: string; answer: string; predicted: string }[] = [];
  const predictions: string[] = [];
  for (let first = 0; first < clips; first += per) {
    const indices = Array.from({ length: Math.min(per, clips - first) }, (_, i) => first + i);
    const generated = answerClips(params, set, indices, o);
    indices.flatMap((c) => set.questions[c]).forEach((q, r) => {
      const predicted = o.tokenizer.decode(generated[r].tokens);
      tally = tallyAdd(tally, { prediction: predicted, answers: q.answer, group: q.type });
      if (samples.length < 8 && predictions.length % 5 === 0) {
        samples.push({ question: q.question, answer: q.answer, predicted });
      }
      predictions.push(predicted);
    });
  }
  const byType = Object.fromEntries(
    QUESTION_TYPES.map((t) => [t, accuracyOf(tally.byGroup[t] ?? { n: 0, correct: 0 })]),
  ) as Record<QuestionType, number>;
  const mean = QUESTION_TYPES.reduce((s, t) => s + byType[t], 0) / QUESTION_TYPES.length;
  return { byType, mean, n: tally.total.n, predictions, samples };
}

/** Scores as eval numbers for train/loop.ts's metrics.jsonl: {mean, a, b, c, d}. */
export function evalNumbers(s: AvqaScores): Record<string, number> {
  return { mean: s.mean, ...Object.fromEntries(QUESTION_TYPES.map((t) => [TYPE_LETTER[t], s.byType[t]])) };
}

const pct = (x: number) => `${(100 * x).toFixed(1)}%`.padStart(7);

/** A markdown table: one row per run, exact match per question type, with the majority baseline first. */
export function scoreTable(
  rows: readonly { readonly name: string; readonly scores: AvqaScores; readonly note?: string }[],
  baseline?: Readonly<Record<QuestionType, Baseline>>,
): string {
  const head = `| run | ${
    QUESTION_TYPES.map((t) => `(${TYPE_LETTER[t]}) ${t}`).join(" | ")
  } | mean | notes |`;
  const rule = `|---|${QUESTION_TYPES.map(() => "---:").join("|")}|---:|---|`;
  const lines = [head, rule];
  if (baseline) {
    const accs = QUESTION_TYPES.map((t) => baseline[t].accuracy);
    const note = QUESTION_TYPES.map((t) => `${TYPE_LETTER[t]}: "${baseline[t].answer}"`).join(", ");
    lines.push(
      `| majority class | ${accs.map(pct).join(" | ")} | ${
        pct(accs.reduce((a, b) => a + b) / 4)
      } | ${note} |`,
    );
  }
  for (const r of rows) {
    lines.push(
      `| ${r.name} | ${QUESTION_TYPES.map((t) => pct(r.scores.byType[t])).join(" | ")} | ${
        pct(r.scores.mean)
      } | ${r.note ?? ""} |`,
    );
  }
  return lines.join("\n");
}
