/**
 * The Mirasol3B network: configs, inputs, init / forward / loss / mediaContext, and the parts for
 * ablations and streaming (each streaming part has `initState`/`step` beside its `apply`).
 * Generation and streaming are in inference/, training in train/.
 */
export {
  type AudioConfig,
  audioTokensPerChunk,
  type AudioVideoConfig,
  avqa,
  base,
  type CombinerConfig,
  type CombinerKind,
  combinerOfKind,
  combinerTokens,
  configs,
  forFinetuning,
  framesPerChunk,
  type LossWeights,
  type MirasolConfig,
  paper3b,
  type ReconstructionConfig,
  requireAudio,
  small,
  type TextConfig,
  tiny,
  type TubeConfig,
  validateConfig,
  type VideoConfig,
  videoTokensPerChunk,
  type WidthConfig,
  withCombiner,
  withFrames,
  withoutAudio,
} from "./config.ts";
export { decodeConfig } from "./config_decode.ts";
export { ConfigError, ShapeError } from "./errors.ts";
export {
  type AudioVideoBatch,
  exampleBatch,
  InputError,
  type Media,
  type MirasolBatch,
  validateBatch,
  validateMedia,
} from "./inputs.ts";
export {
  encode,
  forward,
  type ForwardOptions,
  type ForwardOutput,
  init,
  loss,
  type LossOutput,
  mediaContext,
  type MirasolParams,
} from "./mirasol.ts";
export { cosineDistance, latentLoss, reconstructionLoss, textLoss, totalLoss } from "./losses.ts";
export { combinerMask, latentMask, maskedPerChunk, sampleKeep } from "./combiner_masking.ts";
export * as combiner from "./combiner/mod.ts";
export * as latent from "./latent.ts";
export * as textDecoder from "./text_decoder.ts";
export { audioTargets, videoTargets } from "./reconstruction.ts";
export { extractTubes, tubeCentres } from "./tubes.ts";
export {
  causalMask,
  chunkCausalCrossMask,
  chunkCausalCrossMaskArray,
  chunkCausalMask,
  chunkCausalMaskArray,
} from "./masks.ts";
export * as layers from "./layers/mod.ts";
