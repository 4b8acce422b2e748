/**
 * Training Mirasol3B in TypeScript: one step (loss and gradients in one pass, AdamW), the loop
 * (logs, evaluation, checkpoints, Ctrl-C), batch sources, and TensorBundle checkpoints that
 * TensorFlow reads natively.
 */
export { METRIC_NAMES, type StepMetrics, trainStep, TrainStepError } from "./step.ts";
export {
  defaultOptimizer,
  type StopReason,
  train,
  TrainError,
  type TrainOptions,
  type TrainResult,
} from "./loop.ts";
export { type BatchSource, syntheticBatches } from "./sources.ts";
export { batchTensors, disposeBatch } from "./batch_tensors.ts";
export { CheckpointCorrupt, CheckpointMismatch, loadCheckpoint, saveCheckpoint } from "./checkpoint.ts";
export { type CollapseDiagnostics, collapseDiagnostics, diagnose, effectiveRank } from "./diagnostics.ts";
export { MemoryError, requireFits, trainingBytes } from "./memory.ts";
export { CheckpointClash, CheckpointWriteError } from "./checkpoint.ts";
