/**
 * The synthetic audio-video QA task of issue 10 §1, as data: which clips form the fixed evaluation set
 * and the training stream, how questions and answers become tokens, and the majority-class baseline.
 *
 * Clips come from data/synthetic.ts: clip i of a seed is a pure function of (seed, i), so the eval set
 * (500 clips of EVAL_SEED) is fixed and the training stream (clips 0, 1, 2, ... of TRAIN_SEED) is
 * unbounded and seeded. The two seeds differ, so no training clip is an eval clip.
 *
 * Tokens: the task's words. Every question and answer is made of a closed set of 27 words (plus "?"),
 * so a word tokenizer frames the longest example as BOS + 10 question tokens + SEP + 2 answer tokens +
 * EOS = 15 <= 16 tokens. Bytes (ByT5 layout) would need 64 positions and 261 ids, more than the avqa
 * config's vocabulary of 256 and its 32 text positions. The model still answers in free text: it
 * generates any of the 256 ids, and a generated word outside the answers is simply wrong.
 */
import {
  PALETTE,
  PITCHES,
  type QAPair,
  type QuestionType,
  SYNTHETIC_DEFAULTS,
  type SyntheticConfig,
  syntheticQuestions,
  syntheticScene,
} from "../../data/synthetic.ts";
import type { Tokenizer } from "../../data/tokenizer/tokenizer.ts";
import { qaText, type TextFields } from "../../data/examples.ts";

export const QUESTION_TYPES: readonly QuestionType[] = [
  "first_colour", // (a) video only
  "pitch", // (b) audio only
  "colour_at_tone", // (c) both modalities and time
  "turned_before_tone", // (d) order
];

/** The letters the issue uses for the question types, for tables. */
export const TYPE_LETTER: Readonly<Record<QuestionType, string>> = {
  first_colour: "a",
  pitch: "b",
  colour_at_tone: "c",
  turned_before_tone: "d",
};

export type AvqaTask = {
  /** seed of the fixed evaluation set */
  readonly evalSeed: number;
  /** issue 10: 500 clips */
  readonly evalCount: number;
  /** seed of the unbounded training stream */
  readonly trainSeed: number;
  /** how the clips are rendered (32 frames at 25 fps, T = 4, 32x32) */
  readonly synthetic: SyntheticConfig;
  /** text positions per example (the model's maxLength may be larger) */
  readonly textLength: number;
};

export const AVQA_TASK: AvqaTask = {
  evalSeed: 20_240_611, // any fixed seeds; changing one changes every reported number
  evalCount: 500,
  trainSeed: 7,
  synthetic: SYNTHETIC_DEFAULTS,
  textLength: 16,
};

/** Every question of the fixed evaluation set, 4 per clip in clip order. Pure: no rendering. */
export function evalQuestions(task: AvqaTask = AVQA_TASK): QAPair[] {
  return Array.from(
    { length: task.evalCount },
    (_, i) => syntheticQuestions(syntheticScene(task.evalSeed, i, task.synthetic)),
  ).flat();
}

const SPECIAL = ["<pad>", "</s>", "<unk>", "<s>", "<sep>"] as const; // ids 0..4: PAD, EOS, UNK, BOS, SEP

/** The closed vocabulary of the task's questions and answers (sorted, so ids never depend on order of use). */
export function taskWords(): string[] {
  const words = new Set<string>(["?"]);
  const add = (text: string) => splitWords(text).forEach((w) => words.add(w));
  for (const c of PALETTE) {
    add(`what colour was the square first ${c.name} did the square turn ${c.name} before the tone`);
  }
  for (const p of PITCHES) add(`which pitch was heard ${p.name}`);
  add("what colour was the square when the tone played yes no");
  return [...words].sort();
}

/** Lower-cased words, with "?" (and any other punctuation) as tokens of their own. */
function splitWords(text: string): string[] {
  return text.toLowerCase().match(/[\p{L}\p{N}]+|[^\s\p{L}\p{N}]/gu) ?? [];
}

/**
 * The task's word tokenizer: ids 0..4 are PAD, EOS, UNK, BOS, SEP, then the task words in sorted
 * order. Unknown words encode to UNK; decode joins words with spaces and drops special ids.
 */
export function avqaTokenizer(): Tokenizer {
  const words = taskWords();
  const idOf = new Map(words.map((w, i) => [w, SPECIAL.length + i]));
  const UNK = 2;
  return {
    name: "avqa-words",
    vocabSize: SPECIAL.length + words.length,
    special: { pad: 0, eos: 1, bos: 3, sep: 4 },
    encode: (text) => Int32Array.from(splitWords(text), (w) => idOf.get(w) ?? UNK),
    decode: (ids) => {
      const out: string[] = [];
      for (let i = 0; i < ids.length; i++) {
        const w = words[ids[i] - SPECIAL.length];
        if (w !== undefined) out.push(w);
      }
      return out.join(" ");
    },
  };
}

/** BOS question SEP answer EOS, padded to `task.textLength`; the answer and EOS are scored. */
export function qaTokens(tok: Tokenizer, qa: QAPair, task: AvqaTask = AVQA_TASK): TextFields {
  return qaText(tok, qa, task.textLength);
}

/**
 * The prompt of a question for generation: BOS question SEP, the prefix of `qaTokens` up to the answer.
 * Generation continues at `length` (the first answer position).
 */
export function promptTokens(tok: Tokenizer, question: string): Int32Array {
  return Int32Array.from([tok.special.bos, ...tok.encode(question), tok.special.sep]);
}

export type Baseline = { readonly answer: string; readonly accuracy: number; readonly n: number };

/**
 * The majority-class baseline per question type: the most frequent answer of `fitOn` (the training
 * distribution), scored on `scoreOn` (the eval set). Ties go to the answer that sorts first.
 */
export function majorityBaseline(
  fitOn: readonly QAPair[],
  scoreOn: readonly QAPair[] = fitOn,
): Record<QuestionType, Baseline> {
  const result = {} as Record<QuestionType, Baseline>;
  for (const type of QUESTION_TYPES) {
    const counts = new Map<string, number>();
    for (const q of fitOn) if (q.type === type) counts.set(q.answer, (counts.get(q.answer) ?? 0) + 1);
    const [answer] = [...counts].sort((x, y) => y[1] - x[1] || (x[0] < y[0] ? -1 : 1))[0] ?? [""];
    const scored = scoreOn.filter((q) => q.type === type);
    const right = scored.filter((q) => q.answer === answer).length;
    result[type] = { answer, accuracy: scored.length ? right / scored.length : 0, n: scored.length };
  }
  return result;
}
