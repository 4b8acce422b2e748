/**
 * Open-ended classification, the paper's protocol (Sec. 4: "open-text generation evaluation, as
 * opposed to classification used in all prior works"): the model generates free text after the
 * classification prompt, and a clip counts as right only when that text exactly matches its class
 * name (eval.ts normalisation). A generation that matches no class at all is reported as such, so
 * a model that drifts off the label set shows up instead of being silently counted wrong.
 * Rank scoring over a closed list stays in classify.ts (an option, not the paper's number).
 *
 * Framing is the training framing of classification items (data/examples.ts): `[bos, prompt, sep]`
 * then `label eos`, so greedy decoding stops at EOS.
 */
import type { Media } from "../model/inputs.ts";
import type { MirasolParams } from "../model/mirasol.ts";
import { ConfigError } from "../model/errors.ts";
import { CLASSIFY_PROMPT, type ClassifyOptions, type PromptCodec } from "./classify.ts";
import { normalizeAnswer } from "./eval.ts";
import { generate } from "./generate.ts";

/** A codec that can also turn generated ids back into text. */
export type TextCodec = PromptCodec & { readonly decode: (ids: readonly number[]) => string };

export type OpenEndedOptions = Omit<ClassifyOptions, "tokenizer" | "lengthNormalize"> & {
  readonly tokenizer: TextCodec;
  /** Most tokens generated, EOS included (default: the longest class name plus EOS, plus 4). */
  readonly maxLen?: number;
};

export type OpenEndedPrediction = {
  /** The generated text (EOS dropped). */
  readonly text: string;
  /** The class whose name it matches exactly after normalisation, or null when it matches none. */
  readonly index: number | null;
  /** False when generation hit maxLen before EOS. */
  readonly finished: boolean;
};

/** Generates after the prompt for each video of `media` and matches each text to `classNames`. */
export function classifyOpenEnded(
  params: MirasolParams,
  media: Media,
  classNames: readonly string[],
  opts: OpenEndedOptions,
): OpenEndedPrediction[] {
  if (classNames.length === 0) {
    throw new ConfigError({ action: "classify", reason: "no class names were given" });
  }
  const tok = opts.tokenizer, { bos, eos, sep } = tok.special;
  const prompt = [bos, ...Array.from(tok.encode(opts.prompt ?? CLASSIFY_PROMPT)), sep];
  const longest = classNames.reduce((n, c) => Math.max(n, tok.encode(c).length), 0);
  const byName = new Map<string, number>();
  classNames.forEach((c, i) => byName.has(normalizeAnswer(c)) || byName.set(normalizeAnswer(c), i));
  const generated = generate(params, media, prompt, {
    config: opts.config,
    maxLen: opts.maxLen ?? longest + 5,
    strategy: { kind: "greedy" },
    eos,
  });
  return generated.map((g) => {
    const text = tok.decode(g.finished ? g.tokens.slice(0, -1) : g.tokens);
    return { text, index: byName.get(normalizeAnswer(text)) ?? null, finished: g.finished };
  });
}

/** Exact-match accuracy against the true class of each clip, and the generations that named no class. */
export function openEndedScore(
  predictions: readonly OpenEndedPrediction[],
  labels: readonly number[],
): { accuracy: number; correct: boolean[]; unmatched: { readonly row: number; readonly text: string }[] } {
  if (predictions.length !== labels.length) {
    throw new ConfigError({
      action: "score open-ended classification",
      reason: `${predictions.length} predictions, ${labels.length} labels`,
    });
  }
  const correct = predictions.map((p, i) => p.index === labels[i]);
  const unmatched = predictions.flatMap((p, row) => (p.index === null ? [{ row, text: p.text }] : []));
  const accuracy = correct.length === 0 ? 0 : correct.filter(Boolean).length / correct.length;
  return { accuracy, correct, unmatched };
}
