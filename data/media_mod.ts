/**
 * The media half of the data API, for data/mod.ts to re-export: typed errors, ffmpeg processes,
 * probing, decoding to Clips, the log-mel spectrogram, chunk alignment and the synthetic AV-QA clips.
 */
export {
  BadMediaConfig,
  DecodeError,
  type MediaError,
  MissingMedia,
  NoAudioTrack,
  NoVideoStream,
  RenderError,
} from "./errors.ts";
export {
  ffmpegLayer,
  type FfmpegProgram,
  fixedRecords,
  processStdout,
  processText,
  readBytes,
} from "./ffmpeg.ts";
export {
  type AudioStreamInfo,
  type MediaInfo,
  probeMedia,
  requireFile,
  type VideoStreamInfo,
} from "./probe.ts";
export { decodeClip, decodeClips, decodeFrames, type DecodeOptions } from "./decode.ts";
export {
  hertzToMel,
  LOG_MEL_BLOCK_COLUMNS,
  LOG_MEL_DEFAULTS,
  logMel,
  logMelColumns,
  type LogMelOptions,
  logMelOptions,
  melBandCentresHz,
  melToHertz,
  melWeightMatrix,
  samplesForColumns,
  windowedDftBasis,
} from "./logmel.ts";
export {
  type AlignOptions,
  chunkAlign,
  type ChunkAlignment,
  type ChunkSpan,
  integerColumnsPerFrame,
  resampleColumns,
} from "./align.ts";
export {
  type ColourName,
  PALETTE,
  PITCHES,
  type PitchName,
  type QAPair,
  type QuestionType,
  renderArgs,
  renderScene,
  synthetic,
  SYNTHETIC_DEFAULTS,
  type SyntheticClip,
  type SyntheticConfig,
  syntheticQuestions,
  type SyntheticScene,
  syntheticScene,
  syntheticVocabulary,
} from "./synthetic.ts";
