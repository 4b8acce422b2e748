/**
 * Beam search over the incremental text decoder. Each batch element keeps W live beams (rows of the
 * decoder state) and up to W finished hypotheses. Per step the 2W best extensions of its beams are taken
 * (tf.topk over W*V): an EOS among the first W closes a hypothesis, the other extensions fill the W
 * live beams (HF/T5X's rule, so EOS never takes a live slot). Finished hypotheses are ranked by
 * log p / lp(len) with GNMT's lp(len) = ((5 + len) / 6)^alpha (Wu et al. 2016).
 *
 * A batch element stops when it has W hypotheses and no live beam can beat the worst: a live
 * beam's log p only falls as it grows, so its best reachable score is log p / max(lp) over the
 * lengths it can still reach (exact, not a heuristic). With W = 1 and alpha = 0 this is greedy.
 *
 * Letters: B batch, W beams, V vocab.
 */
import * as tf from "@tensorflow/tfjs-core";
import * as textDecoder from "../model/text_decoder.ts";
import type { Generated } from "./types.ts";

export type BeamOptions = {
  readonly beamSize: number;
  readonly lengthPenalty: number;
  readonly maxLen: number;
  readonly eos: number;
};

type Beam = { tokens: number[]; logProbs: number[]; logP: number };
type Hypothesis = Generated;

/** GNMT length penalty for a sequence of `len` generated tokens. */
export function lengthPenaltyOf(len: number, alpha: number): number {
  return Math.pow((5 + len) / 6, alpha);
}

/**
 * From the decoder state after the prompts (B rows) and the log-probabilities of the first token
 * [B, V], the best hypothesis of each row. Takes ownership of (and disposes) the state and `logProbs0`.
 */
export function beamSearch(
  p: textDecoder.TextDecoderParams,
  promptState: textDecoder.TextDecoderState,
  logProbs0: tf.Tensor2D,
  opts: BeamOptions,
): Generated[] {
  const { beamSize: W, lengthPenalty: alpha, maxLen, eos } = opts;
  const [B, V] = logProbs0.shape;
  const tile = Array.from({ length: B * W }, (_, r) => Math.floor(r / W)); // beam row -> batch row
  let state = textDecoder.selectRows(promptState, tile);
  textDecoder.disposeState(promptState);
  let logProbs = tf.tidy(() =>
    tf.gather(logProbs0, tf.tensor1d(Int32Array.from(tile), "int32"))
  ) as tf.Tensor2D; // [B*W, V]
  logProbs0.dispose();
  // Only beam 0 is live at first: the others start at -Infinity, so no extension is taken twice.
  let beams: Beam[][] = Array.from(
    { length: B },
    () => Array.from({ length: W }, (_, w) => ({ tokens: [], logProbs: [], logP: w === 0 ? 0 : -Infinity })),
  );
  const finished: Hypothesis[][] = Array.from({ length: B }, () => []);
  const done = new Array<boolean>(B).fill(false);
  const bestReachable = (logP: number, len: number) => {
    const a = lengthPenaltyOf(len + 1, alpha), b = lengthPenaltyOf(maxLen, alpha);
    return logP / (logP < 0 ? Math.max(a, b) : Math.min(a, b));
  };
  try {
    for (let step = 0; step < maxLen; step++) {
      const K = Math.min(2 * W, W * V);
      const top = tf.tidy(() => {
        const scores = tf.tensor2d(Float32Array.from(beams.flat().map((b) => b.logP)), [B * W, 1]);
        const total = tf.reshape(tf.add(logProbs, scores), [B, W * V]); // [B, W*V]
        const { values, indices } = tf.topk(total, K);
        // A flat gather: tfjs-backend-wasm 4.22 gathers wrong rows with batchDims = 1.
        const flatIndices = tf.add(
          indices,
          tf.reshape(tf.mul(tf.range(0, B, 1, "int32"), tf.scalar(W * V, "int32")), [B, 1]),
        ); // [B, K]
        const tokenLogProbs = tf.gather(tf.reshape(logProbs, [-1]), tf.reshape(flatIndices, [-1])); // [B*K]
        return { values, indices, tokenLogProbs };
      });
      const values = top.values.dataSync(),
        indices = top.indices.dataSync(),
        tokenLps = top.tokenLogProbs.dataSync();
      tf.dispose([top.values, top.indices, top.tokenLogProbs]);
      const parents: number[] = [];
      const next: Beam[][] = [];
      for (let b = 0; b < B; b++) {
        if (done[b]) {
          next.push(beams[b]);
          beams[b].forEach((_, w) => parents.push(b * W + w));
          continue;
        }
        const live: Beam[] = [];
        for (let rank = 0; rank < K && live.length < W; rank++) {
          const i = b * K + rank, logP = values[i];
          if (logP === -Infinity) break;
          const w = Math.floor(indices[i] / V), token = indices[i] % V, parent = beams[b][w];
          const tokens = [...parent.tokens, token], lps = [...parent.logProbs, tokenLps[i]];
          if (token === eos) {
            if (rank < W) {
              finished[b].push({
                tokens,
                logProbs: lps,
                finished: true,
                score: logP / lengthPenaltyOf(tokens.length, alpha),
              });
            }
            continue;
          }
          live.push({ tokens, logProbs: lps, logP });
          parents.push(b * W + w);
        }
        finished[b].sort((x, y) => y.score - x.score).splice(W);
        const worst = finished[b].length >= W ? finished[b][W - 1].score : -Infinity;
        done[b] = step === maxLen - 1 || live.length === 0 ||
          (finished[b].length >= W && bestReachable(live[0].logP, step + 1) <= worst);
        while (live.length < W) { // too few extensions (tiny vocab): pad with dead beams
          live.push({ tokens: [], logProbs: [], logP: -Infinity });
          parents.push(b * W);
        }
        next.push(live);
      }
      beams = next;
      if (done.every(Boolean)) break;
      const reordered = textDecoder.selectRows(state, parents, { cross: false });
      textDecoder.disposeState(state, { keepCross: true });
      const fed = textDecoder.step(
        p,
        reordered,
        beams.flat().map((beam) => [beam.tokens.length ? beam.tokens[beam.tokens.length - 1] : eos]),
      );
      textDecoder.disposeState(reordered, { keepCross: true });
      state = fed.state;
      logProbs.dispose();
      logProbs = tf.tidy(() => tf.reshape(fed.logProbs, [B * W, V]) as tf.Tensor2D);
      fed.logProbs.dispose();
    }
  } finally {
    textDecoder.disposeState(state);
    logProbs.dispose();
  }
  return beams.map((live, b) => {
    const unfinished = live.filter((beam) => beam.logP > -Infinity).map((beam): Hypothesis => ({
      tokens: beam.tokens,
      logProbs: beam.logProbs,
      finished: false,
      score: beam.logP / lengthPenaltyOf(beam.tokens.length, alpha),
    }));
    // Live beams count only when too few hypotheses finished (they hit maxLen).
    const pool = finished[b].length >= W ? finished[b] : [...finished[b], ...unfinished];
    return pool.reduce((best, h) => (h.score > best.score ? h : best));
  });
}
