/**
 * Text framing for training examples: token ids padded or truncated to a fixed length L, with a
 * `textMask` (real tokens) and a `lossMask` (tokens the model is scored on).
 *
 *   QA:       BOS question SEP answer EOS PAD...   scored: answer and EOS
 *   caption:  BOS caption EOS PAD...               scored: caption and EOS
 *
 * BOS is never scored (nothing predicts it) and EOS is: predicting it is how the model learns to
 * stop. When the text is longer than L, QA keeps the answer and shortens the question first; only
 * an answer that alone overflows is cut (and then loses its EOS, since the text did not end).
 */
import type { Clip, Example } from "./types.ts";
import type { Tokenizer } from "./tokenizer/tokenizer.ts";
import type { AnnotationItem } from "./datasets/annotation.ts";
import { CLASSIFICATION_PROMPT } from "./datasets/classification.ts";

export type TextFields = Pick<Example, "text" | "textMask" | "lossMask">;

export type QaText = { readonly question: string; readonly answer: string };

function frame(
  tokens: readonly number[],
  scored: readonly boolean[],
  length: number,
  pad: number,
): TextFields {
  const text = new Int32Array(length).fill(pad);
  const textMask = new Uint8Array(length);
  const lossMask = new Uint8Array(length);
  for (let i = 0; i < tokens.length; i++) {
    text[i] = tokens[i];
    textMask[i] = 1;
    lossMask[i] = scored[i] ? 1 : 0;
  }
  return { text, textMask, lossMask };
}

function checkLength(length: number) {
  if (!Number.isInteger(length) || length < 4) {
    throw new RangeError(`Cannot frame text: length must be an integer >= 4, got ${length}`);
  }
}

/** BOS question SEP answer EOS, padded to `length`; only the answer and EOS are scored. */
export function qaText(tok: Tokenizer, qa: QaText, length: number): TextFields {
  checkLength(length);
  const { bos, sep, eos, pad } = tok.special;
  let question = [...tok.encode(qa.question)];
  let answer = [...tok.encode(qa.answer)];
  let end = [eos];
  const room = length - 2; // BOS and SEP always fit
  if (question.length + answer.length + 1 > room) {
    question = question.slice(0, Math.max(0, room - answer.length - 1));
    if (answer.length + 1 > room) {
      answer = answer.slice(0, room);
      end = [];
    }
  }
  const tokens = [bos, ...question, sep, ...answer, ...end];
  const scored = tokens.map((_, i) => i > question.length + 1);
  return frame(tokens, scored, length, pad);
}

/** BOS caption EOS, padded to `length`; every token after BOS is scored. */
export function captionText(tok: Tokenizer, caption: string, length: number): TextFields {
  checkLength(length);
  const { bos, eos, pad } = tok.special;
  const words = [...tok.encode(caption)];
  const tokens = words.length + 2 <= length ? [bos, ...words, eos] : [bos, ...words.slice(0, length - 1)];
  return frame(tokens, tokens.map((_, i) => i > 0), length, pad);
}

/** A clip with its framed text. */
export function toExample(clip: Clip, text: TextFields): Example {
  return { ...clip, ...text };
}

/**
 * The text of a loaded annotation: QA items frame question and answer; classification items are
 * the answer to the classification prompt, framed as inference/classify.ts prompts
 * (`BOS prompt SEP label EOS`): the model generates the class name, as for open-vocabulary QA.
 */
export function annotationText(tok: Tokenizer, item: AnnotationItem, length: number): TextFields {
  switch (item.kind) {
    case "qa":
      return qaText(tok, item, length);
    case "classification":
      return qaText(tok, { question: CLASSIFICATION_PROMPT, answer: item.label }, length);
  }
}
