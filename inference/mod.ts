/**
 * Using a trained Mirasol3B: free-text generation (greedy, beam, sampling), classification,
 * chunk-by-chunk streaming with questions at any point, and exact-match scoring.
 */
export {
  generate,
  generateAsync,
  type Generated,
  generateFromContext,
  generateFromContextAsync,
  type GenerateOptions,
  type Prompt,
  type Strategy,
} from "./generate.ts";
export { beamSearch, lengthPenaltyOf } from "./beam.ts";
export {
  classify,
  CLASSIFY_PROMPT,
  classifyFromContext,
  type ClassScore,
  scoreContinuations,
} from "./classify.ts";
export {
  classifyOpenEnded,
  type OpenEndedOptions,
  type OpenEndedPrediction,
  openEndedScore,
  type TextCodec,
} from "./classify_open.ts";
export {
  createStream,
  disposeStream,
  emptyStream,
  type MediaChunk,
  type StreamState,
  streamStep,
  streamTensors,
  type VideoStream,
} from "./stream.ts";
export { accuracyOf, emptyTally, exactMatch, isExactMatch, normalizeAnswer, tallyAdd } from "./eval.ts";
