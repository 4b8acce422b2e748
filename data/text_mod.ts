/**
 * The text and dataset half of the data API, for data/mod.ts to re-export: tokenizers, example
 * framing, annotation loaders, batching, progress and TFRecord shards.
 */
export type { SpecialIds, SpecialTokenNames, Tokenizer } from "./tokenizer/tokenizer.ts";
export { TokenizerError } from "./tokenizer/tokenizer.ts";
export { byteTokenizer } from "./tokenizer/byte.ts";
export { hfTokenizer, loadHfTokenizer } from "./tokenizer/hf_tokenizer.ts";
export {
  loadSentencePiece,
  parseSentencePieceModel,
  sentencePieceTokenizer,
} from "./tokenizer/sentencepiece.ts";

export { annotationText, captionText, type QaText, qaText, type TextFields, toExample } from "./examples.ts";

export {
  type AnnotationItem,
  BadAnnotation,
  type ClassificationItem,
  type QaItem,
} from "./datasets/annotation.ts";
export {
  type ActivityNetQaFiles,
  loadActivityNetQa,
  loadMsrvttQa,
  loadNextQa,
  type QaFiles,
} from "./datasets/qa_datasets.ts";
export { type ClassificationFiles, loadClassificationCsv } from "./datasets/classification.ts";
export { type CaptionFiles, type CaptionItem, loadCaptionPairs } from "./datasets/caption_pairs.ts";

export {
  batches,
  type BatchOptions,
  type BatchReport,
  BatchShapeError,
  shuffled,
  type SkippedItem,
} from "./batch.ts";
export {
  formatProgress,
  type Progress,
  progress,
  type ProgressOptions,
  type ProgressSnapshot,
} from "./progress.ts";
export {
  exampleFeatures,
  type ShardReport,
  ShardWriteError,
  type TFRecordOptions,
  writeTFRecords,
} from "./tfrecords.ts";
export {
  listShards,
  MANIFEST_FORMAT,
  readManifest,
  ShardListError,
  type ShardListing,
  ShardManifest,
} from "./shard_manifest.ts";
export { splitWords, vocabularyOf, wordTokenizer } from "./tokenizer/word.ts";
