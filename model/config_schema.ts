/**
 * The Mirasol3B configuration schema (paper §3, §3.6): typed data, the token counts it implies, and
 * `validateConfig`. The presets and config transforms are in config.ts, which re-exports all of this.
 *
 * Letters: T chunks, K frames per chunk (K = N / T), N frames, r spectrogram columns per frame,
 * D audio+video width, m Combiner outputs per chunk.
 */
import { ConfigError } from "./errors.ts";

/** A sparse tube (TubeViT, Piergiovanni et al. 2023). A 2D patch is a tube with kernel t = 1. */
export type TubeConfig = {
  /** (t, h, w) extent of one tube. */
  readonly kernel: readonly [number, number, number];
  /** (t, h, w) step between tubes; >= kernel in every axis (non-overlapping: no Conv3D on wasm). */
  readonly stride: readonly [number, number, number];
  /** (h, w) spatial offset. There is no temporal offset: tubes start at the chunk's first frame (§3.1). */
  readonly offset: readonly [number, number];
};

/** Width shared by every audio+video transformer (encoder, Combiner, latent, reconstruction). */
export type WidthConfig = {
  readonly dim: number;
  readonly heads: number;
  readonly headDim: number;
  readonly mlpHidden: number;
};

export type VideoConfig = {
  /** N frames in [0, 1] RGB at 25 fps. */
  readonly frames: number;
  /** T chunks of K = N / T frames (§3, Eq. 1). */
  readonly chunks: number;
  readonly height: number;
  readonly width: number;
  readonly tubes: readonly TubeConfig[];
};

export type AudioConfig = {
  /** r log-mel columns per video frame (4 = 100 columns/s at 25 fps). */
  readonly columnsPerFrame: number;
  readonly melBins: number;
  /** A patch spans `patchColumns` columns x `patchBins` bins (non-overlapping). */
  readonly patchColumns: number;
  readonly patchBins: number;
};

export type CombinerConfig =
  /** §3.2: R layers over all tokens with the chunk-causal mask; keeps the last m tokens per chunk. */
  | { readonly kind: "causal_transformer"; readonly layers: number; readonly outTokens: number }
  /** §3.2, Eq. 3-6: Token Turing Machine with a fixed-size memory. */
  | {
    readonly kind: "ttm";
    readonly layers: number;
    readonly outTokens: number;
    readonly memoryTokens: number;
    readonly processTokens: number;
    /** Hidden width of the TokenLearner MLPs (scenic TokenLearnerModuleV11 default 64). */
    readonly tokenLearnerHidden: number;
  }
  /** Tab. 5b baseline: m learned latents per chunk cross-attending chunk-causally (Flamingo resampler). */
  | { readonly kind: "perceiver"; readonly layers: number; readonly outTokens: number }
  /** Tab. 5b baseline: m learned tokens appended to each chunk; their outputs are x_t. */
  | { readonly kind: "cls"; readonly layers: number; readonly outTokens: number }
  /** Tab. 5a ablation "without the Combiner": x = u, every token of every chunk goes to the latent model. */
  | { readonly kind: "none" };

export type CombinerKind = CombinerConfig["kind"];

export type ReconstructionConfig = {
  readonly depth: number;
  /** v_small: each chunk average-pooled to frames x height x width (§3.3 "down sampled"). */
  readonly videoFrames: number;
  readonly videoHeight: number;
  readonly videoWidth: number;
  /** Also predict the next chunk's pooled spectrogram (§3.5: "audio reconstruction loss can also be added"). */
  readonly audio: boolean;
  readonly audioColumns: number;
  readonly audioBins: number;
};

export type TextConfig = {
  readonly vocab: number;
  readonly maxLength: number;
  readonly dim: number;
  readonly depth: number;
  readonly heads: number;
  readonly headDim: number;
  readonly mlpHidden: number;
  /** Output logits through the input embedding (true) or a separate `output` projection. */
  readonly tieEmbeddings: boolean;
};

/** §3.6: all 1 in pretraining; `forFinetuning` multiplies text by 10. */
export type LossWeights = { readonly latent: number; readonly reconstruction: number; readonly text: number };

export type MirasolConfig = {
  readonly name: string;
  readonly width: WidthConfig;
  readonly video: VideoConfig;
  /** The log-mel input; null is the model without audio (the paper's 2.9B variant, `withoutAudio`). */
  readonly audio: AudioConfig | null;
  /** Depth of the ViT backbone shared by video and audio. */
  readonly encoderDepth: number;
  /** §3.1: audio goes through "the same" ViT backbone as video. false gives each its own copy. */
  readonly shareBackbone: boolean;
  readonly combiner: CombinerConfig;
  /** §3.6: ratio of Combiner outputs hidden from the latent model during training ("0.75%", read 0.75). */
  readonly combinerMaskRatio: number;
  /** Layers of the latent causal model; 0 is Tab. 5a's ablation without it (h = x, no latent loss). */
  readonly latentDepth: number;
  /**
   * The latent model's attention over chunks: chunk-causal (Eq. 8, the default), or bidirectional,
   * Tab. 5c's "Ours + BD" ablation, where h_t also sees later chunks (so it cannot be streamed).
   */
  readonly latentAttention?: "chunk_causal" | "bidirectional";
  readonly reconstruction: ReconstructionConfig;
  readonly text: TextConfig;
  readonly losses: LossWeights;
  /**
   * Treat x_{t+1} as a constant target in the latent loss. The paper is silent; it says the loss is
   * "used ... to control the latent representation of the Combiner output" (lucidrains/mirasol-pytorch
   * does not detach its target). The presets small, base and paper3b set it: measured, x collapses
   * without it (config.ts); tiny and avqa keep false (unit tests; the recorded ablation grid).
   */
  readonly latentStopGradient: boolean;
  /** Dropout rate inside every transformer block during training. */
  readonly dropout: number;
};

export { ConfigError };

/** K: frames per chunk. */
export const framesPerChunk = (c: MirasolConfig): number => c.video.frames / c.video.chunks;

/** How many tubes of one kind fit in a chunk of K frames, along (t, h, w). */
export function tubeGrid(
  tube: TubeConfig,
  frames: number,
  height: number,
  width: number,
): [number, number, number] {
  const fit = (
    len: number,
    offset: number,
    k: number,
    s: number,
  ) => (len - offset < k ? 0 : Math.floor((len - offset - k) / s) + 1);
  return [
    fit(frames, 0, tube.kernel[0], tube.stride[0]),
    fit(height, tube.offset[0], tube.kernel[1], tube.stride[1]),
    fit(width, tube.offset[1], tube.kernel[2], tube.stride[2]),
  ];
}

/** f: video tokens per chunk. */
export function videoTokensPerChunk(c: MirasolConfig): number {
  const K = framesPerChunk(c);
  return c.video.tubes.reduce(
    (n, tube) => n + tubeGrid(tube, K, c.video.height, c.video.width).reduce((a, b) => a * b, 1),
    0,
  );
}

/** A config with the audio branch: what every preset is, and what audio-only code paths take. */
export type AudioVideoConfig = MirasolConfig & { readonly audio: AudioConfig };

/** The config's audio layout, or a ConfigError naming `action` for a config without audio. */
export function requireAudio(c: MirasolConfig, action: string): AudioConfig {
  if (c.audio === null) {
    throw new ConfigError({ action, reason: `config '${c.name}' has no audio (audio: null)` });
  }
  return c.audio;
}

/** s: audio tokens per chunk (0 without audio). */
export function audioTokensPerChunk(c: MirasolConfig): number {
  if (c.audio === null) return 0;
  const columns = framesPerChunk(c) * c.audio.columnsPerFrame;
  return (columns / c.audio.patchColumns) * (c.audio.melBins / c.audio.patchBins);
}

/** m: Combiner outputs per chunk (all n tokens without a Combiner). */
export const combinerTokens = (c: MirasolConfig): number =>
  c.combiner.kind === "none" ? videoTokensPerChunk(c) + audioTokensPerChunk(c) : c.combiner.outTokens;

/** Throws a ConfigError naming the first field that is wrong; returns the config otherwise. */
export function validateConfig<C extends MirasolConfig>(c: C): C {
  const fail = (field: string, reason: string): never => {
    throw new ConfigError({ action: `use config '${c.name}'`, reason: `${field} ${reason}` });
  };
  const positive = (field: string, v: number) => {
    if (!Number.isInteger(v) || v < 1) fail(field, `must be a positive integer, got ${v}`);
  };
  const divides = (field: string, whole: number, part: number, what: string) => {
    if (whole % part !== 0) fail(field, `= ${part} must divide ${what} = ${whole}`);
  };
  for (const [k, v] of Object.entries(c.width)) positive(`width.${k}`, v);
  const v = c.video;
  for (const k of ["frames", "chunks", "height", "width"] as const) positive(`video.${k}`, v[k]);
  divides("video.chunks", v.frames, v.chunks, "video.frames");
  const K = v.frames / v.chunks;
  if (v.tubes.length === 0) fail("video.tubes", "must list at least one tube");
  v.tubes.forEach((tube, i) => {
    tube.kernel.forEach((k, a) => positive(`video.tubes[${i}].kernel[${a}]`, k));
    tube.stride.forEach((s, a) => {
      positive(`video.tubes[${i}].stride[${a}]`, s);
      // Overlapping tubes would need Conv3D, which the wasm backend lacks.
      if (s < tube.kernel[a]) {
        fail(
          `video.tubes[${i}].stride[${a}]`,
          `= ${s} must be >= kernel ${tube.kernel[a]} (tubes may not overlap)`,
        );
      }
    });
    tube.offset.forEach((o, a) => {
      if (!Number.isInteger(o) || o < 0) {
        fail(`video.tubes[${i}].offset[${a}]`, `must be a non-negative integer, got ${o}`);
      }
    });
    const grid = tubeGrid(tube, K, v.height, v.width);
    if (grid.some((g) => g === 0)) {
      fail(
        `video.tubes[${i}]`,
        `(kernel [${tube.kernel}], offset [${tube.offset}]) does not fit a chunk of [${K}, ${v.height}, ${v.width}]`,
      );
    }
  });
  const a = c.audio;
  if (a !== null) {
    for (const [k, val] of Object.entries(a)) positive(`audio.${k}`, val);
    divides("audio.patchColumns", K * a.columnsPerFrame, a.patchColumns, "columns per chunk");
    divides("audio.patchBins", a.melBins, a.patchBins, "audio.melBins");
  }
  positive("encoderDepth", c.encoderDepth);
  if (c.combiner.kind !== "none") {
    positive("combiner.layers", c.combiner.layers);
    positive("combiner.outTokens", c.combiner.outTokens);
  }
  const n = videoTokensPerChunk(c) + audioTokensPerChunk(c);
  switch (c.combiner.kind) {
    case "causal_transformer":
      if (c.combiner.outTokens > n) {
        fail(
          "combiner.outTokens",
          `= ${c.combiner.outTokens} exceeds the ${n} tokens per chunk it selects from`,
        );
      }
      break;
    case "ttm":
      positive("combiner.memoryTokens", c.combiner.memoryTokens);
      positive("combiner.processTokens", c.combiner.processTokens);
      positive("combiner.tokenLearnerHidden", c.combiner.tokenLearnerHidden);
      break;
    case "perceiver":
    case "cls":
    case "none":
      break;
    default:
      fail(
        "combiner.kind",
        `must be one of causal_transformer, ttm, perceiver, cls, none, got '${
          (c.combiner as { kind: string }).kind
        }'`,
      );
  }
  if (!(c.combinerMaskRatio >= 0 && c.combinerMaskRatio < 1)) {
    fail("combinerMaskRatio", `must be in [0, 1), got ${c.combinerMaskRatio}`);
  }
  if (
    c.latentAttention !== undefined && c.latentAttention !== "chunk_causal" &&
    c.latentAttention !== "bidirectional"
  ) {
    fail(
      "latentAttention",
      `must be "chunk_causal" or "bidirectional", got ${JSON.stringify(c.latentAttention)}`,
    );
  }
  if (!Number.isInteger(c.latentDepth) || c.latentDepth < 0) {
    fail("latentDepth", `must be a non-negative integer, got ${c.latentDepth}`);
  }
  const r = c.reconstruction;
  positive("reconstruction.depth", r.depth);
  for (const k of ["videoFrames", "videoHeight", "videoWidth", "audioColumns", "audioBins"] as const) {
    positive(`reconstruction.${k}`, r[k]);
  }
  divides("reconstruction.videoFrames", K, r.videoFrames, "frames per chunk");
  divides("reconstruction.videoHeight", v.height, r.videoHeight, "video.height");
  divides("reconstruction.videoWidth", v.width, r.videoWidth, "video.width");
  if (r.audio) {
    if (a === null) {
      return fail("reconstruction.audio", "must be false in a config without audio (audio: null)");
    }
    divides("reconstruction.audioColumns", K * a.columnsPerFrame, r.audioColumns, "columns per chunk");
    divides("reconstruction.audioBins", a.melBins, r.audioBins, "audio.melBins");
  }
  const t = c.text;
  for (const k of ["maxLength", "dim", "depth", "heads", "headDim", "mlpHidden"] as const) {
    positive(`text.${k}`, t[k]);
  }
  if (!Number.isInteger(t.vocab) || t.vocab < 2) {
    fail("text.vocab", `must be an integer >= 2, got ${t.vocab}`);
  }
  for (const [k, w] of Object.entries(c.losses)) {
    if (!(Number.isFinite(w) && w >= 0)) fail(`losses.${k}`, `must be a finite weight >= 0, got ${w}`);
  }
  if (!(c.dropout >= 0 && c.dropout < 1)) fail("dropout", `must be in [0, 1), got ${c.dropout}`);
  return c;
}
