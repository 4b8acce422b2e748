/**
 * Open-ended evaluation as the paper reports it (Sec. 4): the generated free text is compared with
 * the target answer by exact match after VQA-style normalisation (lower case, punctuation and
 * articles removed, whitespace collapsed, number words to digits), so "The Red." matches "red".
 */

const ARTICLES = new Set(["a", "an", "the"]);
const NUMBER_WORDS: Record<string, string> = {
  none: "0",
  zero: "0",
  one: "1",
  two: "2",
  three: "3",
  four: "4",
  five: "5",
  six: "6",
  seven: "7",
  eight: "8",
  nine: "9",
  ten: "10",
};

/** Normalises an answer for exact match. Idempotent: normalizeAnswer(normalizeAnswer(s)) == normalizeAnswer(s). */
export function normalizeAnswer(answer: string): string {
  const words = answer
    .normalize("NFKC")
    .toLowerCase()
    // a period between digits is a decimal point, anywhere else punctuation
    .replace(/(?<!\d)\.|\.(?!\d)/g, " ")
    .replace(/[\p{P}\p{S}]/gu, (ch) => (ch === "." ? ch : " "))
    .split(/\s+/)
    .filter((w) => w.length > 0 && !ARTICLES.has(w))
    .map((w) => NUMBER_WORDS[w] ?? w);
  return words.join(" ");
}

export class EvalError extends Error {
  override readonly name = "EvalError";
}

/** One prediction is right when it equals any of the accepted answers after normalisation. */
export function isExactMatch(prediction: string, answers: string | readonly string[]): boolean {
  const p = normalizeAnswer(prediction);
  return (typeof answers === "string" ? [answers] : answers).some((a) => normalizeAnswer(a) === p);
}

/** Per-item exact match and the accuracy over all items. */
export function exactMatch(
  predictions: readonly string[],
  answers: readonly (string | readonly string[])[],
): { accuracy: number; correct: boolean[] } {
  if (predictions.length !== answers.length) {
    throw new EvalError(
      `Cannot score ${predictions.length} predictions against ${answers.length} answers: counts differ`,
    );
  }
  const correct = predictions.map((p, i) => isExactMatch(p, answers[i]));
  const accuracy = correct.length === 0 ? 0 : correct.filter(Boolean).length / correct.length;
  return { accuracy, correct };
}

/** Running accuracy over a dataset stream, per group (question type, say) and overall. */
export type AccuracyTally = {
  readonly total: { n: number; correct: number };
  readonly byGroup: Record<string, { n: number; correct: number }>;
};

export function emptyTally(): AccuracyTally {
  return { total: { n: 0, correct: 0 }, byGroup: {} };
}

/** Adds one scored item; returns a new tally (tallies are values, so a stream fold can use it). */
export function tallyAdd(
  t: AccuracyTally,
  item: { prediction: string; answers: string | readonly string[]; group?: string },
): AccuracyTally {
  const ok = isExactMatch(item.prediction, item.answers) ? 1 : 0;
  const byGroup = { ...t.byGroup };
  if (item.group !== undefined) {
    const g = byGroup[item.group] ?? { n: 0, correct: 0 };
    byGroup[item.group] = { n: g.n + 1, correct: g.correct + ok };
  }
  return { total: { n: t.total.n + 1, correct: t.total.correct + ok }, byGroup };
}

export function accuracyOf(c: { n: number; correct: number }): number {
  return c.n === 0 ? 0 : c.correct / c.n;
}
