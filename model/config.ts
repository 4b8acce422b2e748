/**
 * Mirasol3B configurations: the presets `tiny`, `small`, `base`, `paper3b` and `avqa`, and the
 * transforms that derive configs from them (`withFrames`, `forFinetuning`, `withCombiner`). The
 * schema (types, token counts, `validateConfig`) is in config_schema.ts and re-exported here.
 */
import {
  type AudioVideoConfig,
  type CombinerConfig,
  type CombinerKind,
  type LossWeights,
  type MirasolConfig,
  validateConfig,
} from "./config_schema.ts";

export * from "./config_schema.ts";

/**
 * The same model on longer (or shorter) videos: N frames in T chunks. Only K = N / T changes; every
 * parameter is sized by kernels, widths and m, never by frame count (§3.6: "adding more frames ...
 * lead[s] to only marginal increase in parameters"; here none), so `init` gives the same tree.
 */
export function withFrames<C extends MirasolConfig>(config: C, frames: number, chunks: number): C {
  return validateConfig({
    ...config,
    name: `${config.name}@${frames}x${chunks}`,
    video: { ...config.video, frames, chunks },
  });
}

/**
 * The model without audio (the paper's 2.9B variant, §4.1 / Tab. 1: "Mirasol3B ... without audio"):
 * no audio encoder, u is the video tokens alone, the Combiner's slots are all video (slots.ts), no
 * audio reconstruction. Batches may omit `audio`; one that has it is not read.
 */
export function withoutAudio(config: MirasolConfig): MirasolConfig {
  return validateConfig({
    ...config,
    name: `${config.name}/no-audio`,
    audio: null,
    reconstruction: { ...config.reconstruction, audio: false },
  });
}

/** §3.6: "During finetuning the unaligned text loss is increased 10-fold." */
export function forFinetuning<C extends MirasolConfig>(config: C): C {
  return validateConfig({
    ...config,
    name: `${config.name}/finetune`,
    losses: { ...config.losses, text: config.losses.text * 10 },
  });
}

/** The same config with another Combiner (Tab. 5b ablations; "none" for Tab. 5a). */
export function withCombiner<C extends MirasolConfig>(config: C, combiner: CombinerConfig): C {
  return validateConfig({ ...config, name: `${config.name}/${combiner.kind}`, combiner });
}

/**
 * A Combiner of the given kind with the config's depth and m. TTM sizes follow the paper's example
 * (memory 256, §3.2) and xGen-MM-Vid's TTM (process 64 tokens, TokenLearner hidden 64), scaled down
 * with m for small models.
 */
export function combinerOfKind(
  kind: CombinerKind,
  base: { layers: number; outTokens: number },
): CombinerConfig {
  switch (kind) {
    case "causal_transformer":
    case "perceiver":
    case "cls":
      return { kind, layers: base.layers, outTokens: base.outTokens };
    case "none":
      return { kind };
    case "ttm":
      return {
        kind,
        layers: base.layers,
        outTokens: base.outTokens,
        memoryTokens: Math.min(256, 8 * base.outTokens),
        processTokens: Math.min(64, 2 * base.outTokens),
        tokenLearnerHidden: 64,
      };
  }
}

const pretrainWeights: LossWeights = { latent: 1, reconstruction: 1, text: 1 }; // §3.6 "equal weight"

/** Unit tests: forward+backward in well under a second on wasm. 2 chunks x 4 frames of 16x16. */
export const tiny: AudioVideoConfig = validateConfig({
  name: "tiny",
  width: { dim: 24, heads: 2, headDim: 12, mlpHidden: 48 },
  video: {
    frames: 8,
    chunks: 2,
    height: 16,
    width: 16,
    tubes: [
      { kernel: [4, 8, 8], stride: [4, 8, 8], offset: [0, 0] }, // 4 tubes spanning the chunk
      { kernel: [1, 8, 8], stride: [4, 8, 8], offset: [0, 0] }, // 4 2D patches of the first frame
    ],
  },
  audio: { columnsPerFrame: 4, melBins: 8, patchColumns: 4, patchBins: 8 }, // 4 patches per chunk
  encoderDepth: 1,
  shareBackbone: true,
  combiner: { kind: "causal_transformer", layers: 1, outTokens: 4 },
  combinerMaskRatio: 0.75,
  latentDepth: 1,
  reconstruction: {
    depth: 1,
    videoFrames: 1,
    videoHeight: 4,
    videoWidth: 4,
    audio: true,
    audioColumns: 4,
    audioBins: 4,
  },
  text: {
    vocab: 40,
    maxLength: 16,
    dim: 24,
    depth: 1,
    heads: 2,
    headDim: 12,
    mlpHidden: 48,
    tieEmbeddings: true,
  },
  losses: pretrainWeights,
  latentStopGradient: false, // unit tests set it per test where it matters
  dropout: 0,
});

/** CPU ablations (the paper's ablation setting: 32 frames in 4 chunks, §4.1), ~10M parameters. */
export const small: AudioVideoConfig = validateConfig({
  name: "small",
  width: { dim: 192, heads: 3, headDim: 64, mlpHidden: 768 },
  video: {
    frames: 32,
    chunks: 4,
    height: 64,
    width: 64,
    tubes: [
      { kernel: [8, 8, 8], stride: [8, 16, 16], offset: [0, 0] },
      { kernel: [4, 12, 12], stride: [8, 16, 16], offset: [8, 8] },
      { kernel: [1, 16, 16], stride: [8, 16, 16], offset: [0, 0] },
    ],
  },
  audio: { columnsPerFrame: 4, melBins: 64, patchColumns: 8, patchBins: 64 },
  encoderDepth: 4,
  shareBackbone: true,
  combiner: { kind: "causal_transformer", layers: 2, outTokens: 8 },
  combinerMaskRatio: 0.75,
  latentDepth: 2,
  reconstruction: {
    depth: 1,
    videoFrames: 2,
    videoHeight: 8,
    videoWidth: 8,
    audio: false,
    audioColumns: 8,
    audioBins: 8,
  },
  text: {
    vocab: 1024,
    maxLength: 64,
    dim: 192,
    depth: 4,
    heads: 3,
    headDim: 64,
    mlpHidden: 768,
    tieEmbeddings: true,
  },
  losses: pretrainWeights,
  // The measured choice (bench/avqa, 3 seeds, train-mode TF export): without stop-gradient the Combiner
  // makes x_{t+1} easy to predict instead (x's spread across tokens 0.04 vs 0.44, effective rank 2.4 vs
  // 4.1) while answer accuracy stays within the seeds' spread; a stop-gradient target keeps x informative.
  latentStopGradient: true,
  dropout: 0,
});

/** ViT-B widths on 64 frames of 160x160 in 8 chunks; ~300M parameters. */
export const base: AudioVideoConfig = validateConfig({
  name: "base",
  width: { dim: 768, heads: 12, headDim: 64, mlpHidden: 3072 },
  video: {
    frames: 64,
    chunks: 8,
    height: 160,
    width: 160,
    tubes: [
      { kernel: [8, 8, 8], stride: [8, 32, 32], offset: [0, 0] },
      { kernel: [4, 12, 12], stride: [8, 32, 32], offset: [16, 16] },
      { kernel: [8, 4, 4], stride: [8, 32, 32], offset: [8, 8] },
      { kernel: [1, 16, 16], stride: [8, 16, 16], offset: [0, 0] },
    ],
  },
  audio: { columnsPerFrame: 4, melBins: 128, patchColumns: 16, patchBins: 16 },
  encoderDepth: 12,
  shareBackbone: true,
  combiner: { kind: "causal_transformer", layers: 4, outTokens: 32 },
  combinerMaskRatio: 0.75,
  latentDepth: 4,
  reconstruction: {
    depth: 2,
    videoFrames: 2,
    videoHeight: 16,
    videoWidth: 16,
    audio: false,
    audioColumns: 8,
    audioBins: 16,
  },
  text: {
    vocab: 32000,
    maxLength: 128,
    dim: 768,
    depth: 8,
    heads: 12,
    headDim: 64,
    mlpHidden: 3072,
    tieEmbeddings: true,
  },
  losses: pretrainWeights,
  // The measured choice (bench/avqa, 3 seeds, train-mode TF export): without stop-gradient the Combiner
  // makes x_{t+1} easy to predict instead (x's spread across tokens 0.04 vs 0.44, effective rank 2.4 vs
  // 4.1) while answer accuracy stays within the seeds' spread; a stop-gradient target keeps x informative.
  latentStopGradient: true,
  dropout: 0.1,
});

/**
 * The paper's model (§3.6): 128 frames = 16 chunks x 8 frames, m = 32, Combiner R = 8, ~3B
 * parameters, a little over half in the audio+video part. Widths, depths, image size, tube set, mel
 * bins and vocabulary are not given in the paper: 224x224 and TubeViT's tube shapes fitted to 8-frame
 * chunks (anchors §3), scenic MBT's 128 mel bins (anchors §4), a 32k SentencePiece-sized vocabulary.
 */
export const paper3b: AudioVideoConfig = validateConfig({
  name: "paper3b",
  width: { dim: 2048, heads: 16, headDim: 128, mlpHidden: 8192 },
  video: {
    frames: 128,
    chunks: 16,
    height: 224,
    width: 224,
    tubes: [
      { kernel: [8, 8, 8], stride: [8, 32, 32], offset: [0, 0] },
      { kernel: [4, 12, 12], stride: [8, 32, 32], offset: [16, 16] },
      { kernel: [8, 4, 4], stride: [8, 32, 32], offset: [8, 8] },
      { kernel: [1, 16, 16], stride: [8, 16, 16], offset: [0, 0] },
    ],
  },
  audio: { columnsPerFrame: 4, melBins: 128, patchColumns: 16, patchBins: 16 },
  encoderDepth: 16,
  shareBackbone: true,
  combiner: { kind: "causal_transformer", layers: 8, outTokens: 32 },
  combinerMaskRatio: 0.75,
  latentDepth: 6,
  reconstruction: {
    depth: 2,
    videoFrames: 2,
    videoHeight: 16,
    videoWidth: 16,
    audio: false,
    audioColumns: 8,
    audioBins: 16,
  },
  text: {
    vocab: 32000,
    maxLength: 256,
    dim: 2048,
    depth: 20,
    heads: 16,
    headDim: 128,
    mlpHidden: 8192,
    tieEmbeddings: true,
  },
  losses: pretrainWeights,
  // The measured choice (bench/avqa, 3 seeds, train-mode TF export): without stop-gradient the Combiner
  // makes x_{t+1} easy to predict instead (x's spread across tokens 0.04 vs 0.44, effective rank 2.4 vs
  // 4.1) while answer accuracy stays within the seeds' spread; a stop-gradient target keeps x informative.
  latentStopGradient: true,
  dropout: 0.1,
});

/**
 * The synthetic audio-video QA benchmark model (bench/avqa): dim 128, 4 heads, 2 layers per stack,
 * T = 4 chunks of 8 frames at 32x32, m = 4, 8-frame x 8x8 tubes, audio patches of 8 columns spanning
 * all mel bins (patches that cut the mel axis did not learn pitch), latent loss weight 0.25.
 */
export const avqa: AudioVideoConfig = validateConfig({
  name: "avqa",
  width: { dim: 128, heads: 4, headDim: 32, mlpHidden: 256 },
  video: {
    frames: 32,
    chunks: 4,
    height: 32,
    width: 32,
    tubes: [{ kernel: [8, 8, 8], stride: [8, 8, 8], offset: [0, 0] }],
  },
  audio: { columnsPerFrame: 4, melBins: 64, patchColumns: 8, patchBins: 64 },
  encoderDepth: 2,
  shareBackbone: true,
  combiner: { kind: "causal_transformer", layers: 2, outTokens: 4 },
  combinerMaskRatio: 0.75,
  latentDepth: 2,
  reconstruction: {
    depth: 2,
    videoFrames: 1,
    videoHeight: 8,
    videoWidth: 8,
    audio: false,
    audioColumns: 8,
    audioBins: 8,
  },
  text: {
    vocab: 256,
    maxLength: 32,
    dim: 128,
    depth: 2,
    heads: 4,
    headDim: 32,
    mlpHidden: 256,
    tieEmbeddings: true,
  },
  losses: { latent: 0.25, reconstruction: 1, text: 1 },
  latentStopGradient: false, // pinned: the recorded ablation grid's `full` row (its `stopgrad` row is the default)
  dropout: 0,
});

/**
 * §3.6's long-video setting: "512 = 16 chunks x 32 frames", the same parameters as paper3b (every
 * parameter is sized by kernels and widths, `withFrames`), 32 frames per chunk, sampled uniformly over
 * a long video (data/decode.ts `sampling: "uniform"`, the ActivityNet-QA / NExT-QA protocol).
 */
export const paper512: AudioVideoConfig = withFrames({ ...paper3b, name: "paper512" }, 512, 16);

export const configs = { tiny, small, base, paper3b, avqa } as const;
