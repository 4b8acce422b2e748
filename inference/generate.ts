/**
 * Free-form text generation from a video (the paper evaluates open-ended QA by generation and exact
 * match, Sec. 4): greedy decoding, beam search (beam.ts) and temperature/top-k sampling with an
 * explicit key. The media side (`mediaContext`: encoders, Combiner, latent model) runs ONCE per call;
 * the text decoder then runs incrementally (its `initState`/`step`), one step per generated token.
 *
 * Prompts are token ids, framed as the training examples frame a question (data/examples.ts):
 * `[bos, ...question, sep]`; generation stops at `eos` per sequence.
 *
 * Letters: B batch, N frames, T chunks, m tokens per chunk, D width, V vocab, P prompt length.
 */
import * as tf from "@tensorflow/tfjs-core";
import { combinerTokens } from "../model/config.ts";
import { ConfigError } from "../model/errors.ts";
import type { Media } from "../model/inputs.ts";
import { mediaContext, type MirasolParams } from "../model/mirasol.ts";
import * as textDecoder from "../model/text_decoder.ts";
import { foldIn, type Key, uniformValues } from "../transforms/random.ts";
import { beamSearch } from "./beam.ts";
import type { Generated, GenerateOptions, Prompt, Strategy } from "./types.ts";

export type { Generated, GenerateOptions, Prompt, Strategy } from "./types.ts";

/** The prompt as one id list per row, checked against the vocabulary. */
export function promptRows(prompt: Prompt, rows: number, vocab: number): number[][] {
  const perRow = prompt.length > 0 && Array.isArray(prompt[0]);
  const out = perRow
    ? (prompt as readonly (readonly number[])[]).map((r) => [...r])
    : Array.from({ length: rows }, () => [...(prompt as readonly number[])]);
  if (out.length !== rows) {
    throw new ConfigError({
      action: "generate",
      reason: `the media has ${rows} rows but ${out.length} prompts were given`,
    });
  }
  const bad = out.flat().find((id) => !Number.isInteger(id) || id < 0 || id >= vocab);
  if (bad !== undefined) {
    throw new ConfigError({
      action: "generate",
      reason: `prompt id ${bad} is outside the vocabulary [0, ${vocab})`,
    });
  }
  return out;
}

function checkOptions(
  opts: GenerateOptions,
  prompts: readonly (readonly number[])[],
  positions: number,
): void {
  const { maxLen, strategy: s, eos, config } = opts;
  const fail = (reason: string) => new ConfigError({ action: "generate", reason });
  if (!Number.isInteger(maxLen) || maxLen < 1) throw fail(`maxLen must be a positive integer, got ${maxLen}`);
  if (!Number.isInteger(eos) || eos < 0 || eos >= config.text.vocab) {
    throw fail(`eos ${eos} is outside the vocabulary`);
  }
  // The last generated token is never fed back, so P + maxLen - 1 positions are used.
  const longest = prompts.reduce((n, r) => Math.max(n, r.length), 0);
  if (longest + maxLen - 1 > positions) {
    throw fail(
      `a prompt of ${longest} tokens plus maxLen ${maxLen} needs ${
        longest + maxLen - 1
      } positions, the decoder has ${positions}`,
    );
  }
  if (s.kind === "beam") {
    if (!Number.isInteger(s.beamSize) || s.beamSize < 1) {
      throw fail(`beamSize must be a positive integer, got ${s.beamSize}`);
    }
    if (2 * s.beamSize > config.text.vocab) {
      throw fail(`beamSize ${s.beamSize} needs a vocabulary of at least ${2 * s.beamSize}`);
    }
    if (!Number.isFinite(s.lengthPenalty)) throw fail(`lengthPenalty must be finite, got ${s.lengthPenalty}`);
  }
  if (s.kind === "sample") {
    if (!(s.temperature > 0) || !Number.isFinite(s.temperature)) {
      throw fail(`temperature must be > 0, got ${s.temperature}`);
    }
    if (s.topK !== undefined && (!Number.isInteger(s.topK) || s.topK < 1 || s.topK > config.text.vocab)) {
      throw fail(`topK must be an integer in [1, ${config.text.vocab}], got ${s.topK}`);
    }
  }
}

/** Generates from video and audio: the media side runs once, then the cached decoder. */
export function generate(
  params: MirasolParams,
  media: Media,
  prompt: Prompt,
  opts: GenerateOptions,
): Generated[] {
  const h = mediaContext(params, media, opts.config);
  try {
    return generateFromContext(params, h, prompt, opts);
  } finally {
    h.dispose();
  }
}

/**
 * `generate` with awaited reads, so it runs on webgpu; greedy and sampling (beam search reads
 * synchronously and is refused here). Same tokens as `generate` on a given backend.
 */
export async function generateAsync(
  params: MirasolParams,
  media: Media,
  prompt: Prompt,
  opts: GenerateOptions,
): Promise<Generated[]> {
  const h = mediaContext(params, media, opts.config);
  try {
    return await generateFromContextAsync(params, h, prompt, opts);
  } finally {
    h.dispose();
  }
}

/** `generateFromContext` with awaited reads (greedy and sampling). */
export function generateFromContextAsync(
  params: MirasolParams,
  h: tf.Tensor,
  prompt: Prompt,
  opts: GenerateOptions,
): Promise<Generated[]> {
  const strategy = opts.strategy;
  if (strategy.kind === "beam") {
    throw new ConfigError({
      action: "generate asynchronously",
      reason: "beam search reads synchronously; use generate",
    });
  }
  return generateFromContext(
    params,
    h,
    prompt,
    opts,
    (p, state, logProbs) => decodeRowsAsync(p, state, logProbs, { ...opts, strategy }),
  );
}

/** Generates given h [B, T, m, D] already computed (by `mediaContext`, or by a stream after t chunks). */
export function generateFromContext(
  params: MirasolParams,
  h: tf.Tensor,
  prompt: Prompt,
  opts: GenerateOptions,
): Generated[];
export function generateFromContext<R>(
  params: MirasolParams,
  h: tf.Tensor,
  prompt: Prompt,
  opts: GenerateOptions,
  decode: (p: textDecoder.TextDecoderParams, state: textDecoder.TextDecoderState, logProbs: tf.Tensor2D) => R,
): R;
export function generateFromContext(
  params: MirasolParams,
  h: tf.Tensor,
  prompt: Prompt,
  opts: GenerateOptions,
  decode?: (
    p: textDecoder.TextDecoderParams,
    state: textDecoder.TextDecoderState,
    logProbs: tf.Tensor2D,
  ) => unknown,
): unknown {
  const p = params.text_decoder;
  const [B, , m] = h.shape;
  const expectM = opts.config.combiner.kind === "none" ? m : combinerTokens(opts.config);
  if (h.rank !== 4 || m !== expectM || h.shape[3] !== opts.config.width.dim) {
    throw new ConfigError({
      action: "generate",
      reason: `h must be [B, T, ${expectM}, ${opts.config.width.dim}], got [${h.shape}]`,
    });
  }
  const prompts = promptRows(prompt, B, opts.config.text.vocab);
  checkOptions(opts, prompts, textDecoder.maxPositions(p));
  const first = textDecoder.stepPrompts(p, textDecoder.initState(p, h), prompts);
  if (decode) return decode(p, first.state, first.logProbs);
  if (opts.strategy.kind === "beam") {
    return beamSearch(p, first.state, first.logProbs, {
      ...opts.strategy,
      maxLen: opts.maxLen,
      eos: opts.eos,
    });
  }
  return decodeRows(p, first.state, first.logProbs, { ...opts, strategy: opts.strategy });
}

type Chooser = (logProbs: tf.Tensor2D, step: number) => { ids: number[]; logProbs: number[] };

/** Greedy: the most likely token of each row (tf.topk, so ties break as the sampler's top-1 does). */
function chooseGreedy(logProbs: tf.Tensor2D): { ids: number[]; logProbs: number[] } {
  const { values, indices } = tf.topk(logProbs, 1);
  const out = { ids: Array.from(indices.dataSync()), logProbs: Array.from(values.dataSync()) };
  tf.dispose([values, indices]);
  return out;
}

/** The sampler's host side: rows of k candidate log-probs (and their ids, or 0..k-1) -> one pick a row. */
function pickSampled(
  values: Float32Array,
  indices: Int32Array | null,
  k: number,
  u: ArrayLike<number>,
  temperature: number,
) {
  const ids: number[] = [], lps: number[] = [];
  for (let b = 0; b < u.length; b++) {
    const row = values.subarray(b * k, (b + 1) * k);
    let max = -Infinity;
    for (const v of row) max = Math.max(max, v);
    const weights = Array.from(row, (v) => Math.exp((v - max) / temperature));
    const total = weights.reduce((a, w) => a + w, 0);
    let j = 0, acc = weights[0];
    while (j < k - 1 && acc <= u[b] * total) acc += weights[++j];
    ids.push(indices ? indices[b * k + j] : j);
    lps.push(row[j]);
  }
  return { ids, logProbs: lps };
}

/**
 * Sampling: per row one uniform draw from foldIn(key, step) picks a token by inverse CDF of
 * softmax(logp / temperature) over the candidates (all V, or the top k).
 */
function sampler(s: { temperature: number; topK?: number; key: Key }): Chooser {
  return (logProbs, step) => {
    const [B, V] = logProbs.shape;
    let values: Float32Array, indices: Int32Array | null = null;
    const k = s.topK ?? V;
    if (s.topK !== undefined) {
      const top = tf.topk(logProbs, s.topK);
      values = top.values.dataSync() as Float32Array;
      indices = top.indices.dataSync() as Int32Array;
      tf.dispose([top.values, top.indices]);
    } else {
      values = logProbs.dataSync() as Float32Array;
    }
    return pickSampled(values, indices, k, uniformValues(foldIn(s.key, step), B), s.temperature);
  };
}

type AsyncChooser = (logProbs: tf.Tensor2D, step: number) => Promise<{ ids: number[]; logProbs: number[] }>;

async function chooseGreedyAsync(logProbs: tf.Tensor2D): Promise<{ ids: number[]; logProbs: number[] }> {
  const { values, indices } = tf.topk(logProbs, 1);
  try {
    const [ids, lps] = await Promise.all([indices.data(), values.data()]);
    return { ids: Array.from(ids), logProbs: Array.from(lps) };
  } finally {
    tf.dispose([values, indices]);
  }
}

function samplerAsync(s: { temperature: number; topK?: number; key: Key }): AsyncChooser {
  return async (logProbs, step) => {
    const [B, V] = logProbs.shape;
    const k = s.topK ?? V;
    const u = uniformValues(foldIn(s.key, step), B);
    if (s.topK === undefined) {
      return pickSampled((await logProbs.data()) as Float32Array, null, k, u, s.temperature);
    }
    const top = tf.topk(logProbs, s.topK);
    try {
      const [values, indices] = await Promise.all([top.values.data(), top.indices.data()]);
      return pickSampled(values as Float32Array, indices as Int32Array, k, u, s.temperature);
    } finally {
      tf.dispose([top.values, top.indices]);
    }
  };
}

/** Greedy or sampled decoding, row by row; finished rows keep being fed EOS and are ignored. */
function decodeRows(
  p: textDecoder.TextDecoderParams,
  state0: textDecoder.TextDecoderState,
  logProbs0: tf.Tensor2D,
  opts: GenerateOptions & { strategy: Exclude<Strategy, { kind: "beam" }> },
): Generated[] {
  const choose: Chooser = opts.strategy.kind === "greedy" ? chooseGreedy : sampler(opts.strategy);
  const B = state0.pad.length;
  const rows = Array.from(
    { length: B },
    () => ({ tokens: [] as number[], logProbs: [] as number[], finished: false }),
  );
  let state = state0, logProbs = logProbs0;
  try {
    for (let step = 0; step < opts.maxLen; step++) {
      const pick = choose(logProbs, step);
      rows.forEach((r, b) => {
        if (r.finished) return;
        r.tokens.push(pick.ids[b]);
        r.logProbs.push(pick.logProbs[b]);
        r.finished = pick.ids[b] === opts.eos;
      });
      if (step === opts.maxLen - 1 || rows.every((r) => r.finished)) break;
      const next = textDecoder.step(
        p,
        state,
        rows.map((r) => [r.finished ? opts.eos : r.tokens[r.tokens.length - 1]]),
      );
      textDecoder.disposeState(state, { keepCross: true });
      logProbs.dispose();
      state = next.state;
      logProbs = tf.tidy(() => tf.reshape(next.logProbs, [B, -1]) as tf.Tensor2D); // [B, V]
      next.logProbs.dispose();
    }
  } finally {
    textDecoder.disposeState(state);
    logProbs.dispose();
  }
  return rows.map((r) => ({ ...r, score: r.logProbs.reduce((a, b) => a + b, 0) }));
}

/** decodeRows with awaited reads (webgpu under Deno cannot read synchronously). */
async function decodeRowsAsync(
  p: textDecoder.TextDecoderParams,
  state0: textDecoder.TextDecoderState,
  logProbs0: tf.Tensor2D,
  opts: GenerateOptions & { strategy: Exclude<Strategy, { kind: "beam" }> },
): Promise<Generated[]> {
  const choose: AsyncChooser = opts.strategy.kind === "greedy"
    ? chooseGreedyAsync
    : samplerAsync(opts.strategy);
  const B = state0.pad.length;
  const rows = Array.from(
    { length: B },
    () => ({ tokens: [] as number[], logProbs: [] as number[], finished: false }),
  );
  let state = state0, logProbs = logProbs0;
  try {
    for (let step = 0; step < opts.maxLen; step++) {
      const pick = await choose(logProbs, step);
      rows.forEach((r, b) => {
        if (r.finished) return;
        r.tokens.push(pick.ids[b]);
        r.logProbs.push(pick.logProbs[b]);
        r.finished = pick.ids[b] === opts.eos;
      });
      if (step === opts.maxLen - 1 || rows.every((r) => r.finished)) break;
      const next = textDecoder.step(
        p,
        state,
        rows.map((r) => [r.finished ? opts.eos : r.tokens[r.tokens.length - 1]]),
      );
      textDecoder.disposeState(state, { keepCross: true });
      logProbs.dispose();
      state = next.state;
      logProbs = tf.tidy(() => tf.reshape(next.logProbs, [B, -1]) as tf.Tensor2D); // [B, V]
      next.logProbs.dispose();
    }
  } finally {
    textDecoder.disposeState(state);
    logProbs.dispose();
  }
  return rows.map((r) => ({ ...r, score: r.logProbs.reduce((a, b) => a + b, 0) }));
}
