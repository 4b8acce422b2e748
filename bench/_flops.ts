/**
 * FLOP counts for the benchmarks: matmuls and attention, by hand from a config (what the model must
 * compute), and by reading the matmul kernels a `tf.profile` recorded (what tfjs actually ran).
 *
 * Conventions: one multiply-add = 2 FLOPs; only matmuls are counted (dense layers, the two attention
 * products, TokenLearner's weighted sums, the tied output projection). Softmax, LayerNorm, GELU,
 * adds and the optimizer are elementwise, O(tokens x D) against O(tokens x D^2), and left out. The
 * attention products are counted over the full T x T logits that a masked attention computes,
 * masked or not. Backward of C = A.B computes dA = dC.B^T and dB = A^T.dC: twice the forward, so a
 * train step is about 3x the forward (a little less: no dA for the embedding of the raw inputs).
 *
 * Letters: X independent sequences, S queries, Sc context keys, D width, H heads, Dh head width,
 * F MLP hidden, B batch, T chunks, n tokens per chunk, m Combiner outputs, L text length, V vocab.
 */
import type { MirasolConfig } from "../model/config.ts";
import { audioTokensPerChunk, combinerTokens, framesPerChunk, tubeGrid } from "../model/config.ts";

/** [batch x] (m x k) . (k x n). */
export const matmulFlops = (m: number, k: number, n: number, batch = 1): number => 2 * batch * m * k * n;

export type AttentionShape = {
  /** independent sequences (batch) */
  readonly sequences: number;
  readonly queries: number;
  readonly keys: number;
  readonly heads: number;
  readonly headDim: number;
};

/** softmax(Q K^T) V: Q K^T and P V, each [X*H] (S x Dh).(Dh x Sc). Projections not included. */
export function attentionCoreFlops(a: AttentionShape): number {
  const xh = a.sequences * a.heads;
  return matmulFlops(a.queries, a.headDim, a.keys, xh) + matmulFlops(a.queries, a.keys, a.headDim, xh);
}

export type BlockShape = {
  readonly sequences: number;
  readonly tokens: number;
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly mlpHidden: number;
  /** cross-attention to a context of `tokens` x `dim` (the text decoder) */
  readonly context?: { readonly tokens: number; readonly dim: number };
};

/** Multi-head attention with its q, k, v and out projections. */
function attentionFlops(
  x: number,
  s: number,
  d: number,
  h: number,
  dh: number,
  sc: number,
  dc: number,
): number {
  const q = matmulFlops(x * s, d, h * dh);
  const kv = 2 * matmulFlops(x * sc, dc, h * dh);
  const out = matmulFlops(x * s, h * dh, d);
  return q + kv + out + attentionCoreFlops({ sequences: x, queries: s, keys: sc, heads: h, headDim: dh });
}

/** One pre-LN transformer block (model/layers/transformer.ts): self-attention, [cross], MLP. */
export function blockFlops(b: BlockShape): number {
  const { sequences: x, tokens: s, dim: d, heads: h, headDim: dh } = b;
  const self = attentionFlops(x, s, d, h, dh, s, d);
  const cross = b.context ? attentionFlops(x, s, d, h, dh, b.context.tokens, b.context.dim) : 0;
  const mlp = matmulFlops(x * s, d, b.mlpHidden) + matmulFlops(x * s, b.mlpHidden, d);
  return self + cross + mlp;
}

const stackFlops = (depth: number, b: BlockShape) => depth * blockFlops(b);

/** TokenLearner (model/layers/token_learner.ts): MLP D -> hidden -> S over N inputs, then [S, N].[N, D]. */
export function tokenLearnerFlops(
  x: number,
  inputs: number,
  dim: number,
  hidden: number,
  out: number,
): number {
  return matmulFlops(x * inputs, dim, hidden) + matmulFlops(x * inputs, hidden, out) +
    matmulFlops(out, inputs, dim, x);
}

/** The Combiner alone, u [B, T, n, D] -> x [B, T, m, D]. */
export function combinerFlops(
  c: MirasolConfig,
  batch: number,
  chunks: number,
  tokensPerChunk: number,
): number {
  const { dim, heads, headDim, mlpHidden } = c.width;
  const width = { dim, heads, headDim, mlpHidden };
  const k = c.combiner;
  const B = batch, T = chunks, n = tokensPerChunk;
  switch (k.kind) {
    case "none":
      return 0;
    case "causal_transformer":
      return stackFlops(k.layers, { sequences: B, tokens: T * n, ...width });
    case "cls":
      return stackFlops(k.layers, { sequences: B, tokens: T * (n + k.outTokens), ...width });
    case "perceiver":
      return stackFlops(k.layers, {
        sequences: B,
        tokens: T * k.outTokens,
        ...width,
        context: { tokens: T * n, dim },
      });
    case "ttm": {
      const { memoryTokens: S, processTokens: p, outTokens: m, tokenLearnerHidden: hid } = k;
      const read = tokenLearnerFlops(B, S + n, dim, hid, p);
      const process = stackFlops(k.layers, { sequences: B, tokens: p, ...width });
      const write = tokenLearnerFlops(B, S + p + n, dim, hid, S);
      const output = tokenLearnerFlops(B, p, dim, hid, m);
      return T * (read + process + write + output);
    }
  }
}

export type FlopBreakdown = { readonly total: number; readonly parts: Readonly<Record<string, number>> };

/** Matmul FLOPs of one `forward` (train or eval: the same work) on a batch of B clips, L text tokens. */
export function forwardFlops(c: MirasolConfig, batch: number, textLength: number): FlopBreakdown {
  const { dim: D, heads, headDim, mlpHidden } = c.width;
  const width = { dim: D, heads, headDim, mlpHidden };
  const B = batch, T = c.video.chunks, K = framesPerChunk(c);
  const tubes = c.video.tubes.map((tube) => ({
    tokens: tubeGrid(tube, K, c.video.height, c.video.width).reduce((a, b) => a * b, 1),
    volume: tube.kernel[0] * tube.kernel[1] * tube.kernel[2] * 3,
  }));
  const f = tubes.reduce((a, t) => a + t.tokens, 0), s = audioTokensPerChunk(c), m = combinerTokens(c);
  const r = c.reconstruction, t = c.text;
  const videoTargets = r.videoFrames * r.videoHeight * r.videoWidth * 3;
  const parts: Record<string, number> = {
    embed: tubes.reduce((a, tube) => a + matmulFlops(B * T * tube.tokens, tube.volume, D), 0) +
      matmulFlops(B * T * s, c.audio === null ? 0 : c.audio.patchColumns * c.audio.patchBins, D),
    encoders: stackFlops(c.encoderDepth, { sequences: B * T, tokens: f, ...width }) +
      stackFlops(c.encoderDepth, { sequences: B * T, tokens: s, ...width }),
    combiner: combinerFlops(c, B, T, f + s),
    latent: stackFlops(c.latentDepth, { sequences: B, tokens: T * m, ...width }),
    reconstruction: stackFlops(r.depth, { sequences: B, tokens: T * m, ...width }) +
      matmulFlops(B * T, D, videoTargets) +
      (r.audio ? matmulFlops(B * T, D, r.audioColumns * r.audioBins) : 0),
    text: stackFlops(t.depth, {
      sequences: B,
      tokens: textLength,
      dim: t.dim,
      heads: t.heads,
      headDim: t.headDim,
      mlpHidden: t.mlpHidden,
      context: { tokens: T * m, dim: D },
    }) + matmulFlops(B * textLength, t.dim, t.vocab),
  };
  return { total: Object.values(parts).reduce((a, b) => a + b, 0), parts };
}

/** A train step's matmul FLOPs, 3x the forward (see the header); the profile count is the exact one. */
export const trainStepFlops = (c: MirasolConfig, batch: number, textLength: number): number =>
  3 * forwardFlops(c, batch, textLength).total;

/** The part of a profiled kernel that `profiledMatmulFlops` reads. */
export type KernelRecord = {
  readonly name: string;
  readonly inputShapes: readonly (readonly number[])[];
  readonly outputShapes: readonly (readonly number[])[];
};

const MATMUL_KERNELS = new Set(["BatchMatMul", "_FusedMatMul", "MatMul"]);
const size = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

/**
 * FLOPs of the matmul kernels in a profile. For out [..., M, N] and a = [..., M, K] (or its
 * transpose), K = a[-2] * a[-1] / M whichever way a was transposed, so FLOPs = 2 * |out| * K.
 */
export function profiledMatmulFlops(kernels: readonly KernelRecord[]): number {
  let total = 0;
  for (const k of kernels) {
    if (!MATMUL_KERNELS.has(k.name)) continue;
    const out = k.outputShapes[0], a = k.inputShapes[0];
    const M = out[out.length - 2];
    const inner = (a[a.length - 2] * a[a.length - 1]) / M;
    total += 2 * size(out) * inner;
  }
  return total;
}

/**
 * Matmul FLOPs of `generate` with a KV cache: the media side once (embeddings, encoders, Combiner,
 * latent model), then the text decoder fed one position at a time for the P prompt tokens and the
 * first G - 1 generated ones (the last is only read out), each with logits over V. Cross-attention
 * keys/values of the T*m context are projected once per layer.
 */
export function generateFlops(
  c: MirasolConfig,
  batch: number,
  promptLength: number,
  newTokens: number,
): number {
  const fwd = forwardFlops(c, batch, 1).parts;
  const media = fwd.embed + fwd.encoders + fwd.combiner + fwd.latent;
  const t = c.text, B = batch, ctx = c.video.chunks * combinerTokens(c), hd = t.heads * t.headDim;
  let decode = t.depth * 2 * matmulFlops(B * ctx, c.width.dim, hd); // cross keys/values, once
  for (let i = 0; i < promptLength + newTokens - 1; i++) {
    const self = 4 * matmulFlops(B, t.dim, hd) +
      attentionCoreFlops({ sequences: B, queries: 1, keys: i + 1, heads: t.heads, headDim: t.headDim });
    const cross = 2 * matmulFlops(B, t.dim, hd) +
      attentionCoreFlops({ sequences: B, queries: 1, keys: ctx, heads: t.heads, headDim: t.headDim });
    const mlp = 2 * matmulFlops(B, t.dim, t.mlpHidden);
    decode += t.depth * (self + cross + mlp) + matmulFlops(B, t.dim, t.vocab);
  }
  return media + decode;
}
