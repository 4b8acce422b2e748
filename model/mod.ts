/**
 * The public Mirasol3B model API: configs, inputs, init / forward / loss, and the parts for
 * ablations and streaming. (The lead merges these names into the root mod.ts.)
 */
export {
  type AudioConfig,
  audioTokensPerChunk,
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
} from "./config.ts";
export { ConfigError } from "./errors.ts";
export { exampleBatch, InputError, type MirasolBatch, validateBatch } from "./inputs.ts";
export {
  encode,
  forward,
  type ForwardOptions,
  type ForwardOutput,
  init,
  loss,
  type LossOutput,
  type MirasolParams,
} from "./mirasol.ts";
export { cosineDistance, latentLoss, reconstructionLoss, textLoss, totalLoss } from "./losses.ts";
export { combinerMask, latentMask, maskedPerChunk, sampleKeep } from "./combiner_masking.ts";
export * as combiner from "./combiner/mod.ts";
export { audioTargets, videoTargets } from "./reconstruction.ts";
export { extractTubes, tubeCentres } from "./tubes.ts";
export {
  type GenerateOptions, generate, type Generated, generateFromContext, type Media, mediaContext, type Prompt,
  type Strategy,
} from "./generate.ts";
export { type MediaChunk, createStream, type Stream, type StreamState, streamStep } from "./stream.ts";
export { CLASSIFY_PROMPT, classify, classifyFromContext, scoreContinuations } from "./classify.ts";
export { METRIC_NAMES, type StepMetrics, trainStep, TrainStepError } from "./train_step.ts";
export { type BatchSource, defaultOptimizer, type StopReason, train, TrainError, type TrainOptions, type TrainResult } from "./train.ts";
export { batchTensors, disposeBatch } from "./batch_tensors.ts";
export { syntheticBatches, tfrecordBatches } from "./train_data.ts";
