/**
 * Export: TF2 SavedModels (variables or inputs mode, optional bfloat16 compute) and tfjs graph
 * models, written by TypeScript alone from traced pure functions. (The lead merges these names, and
 * `trace` from transforms/trace.ts, into the root mod.ts.)
 */
export {
  EXPORT_METADATA,
  exportSavedModel,
  type SavedModelReport,
  type SavedModelSpec,
  type SignatureSpec,
} from "./savedmodel/export.ts";
export { conventionalInit, type InitRule, paramArgName, type ParamMode } from "./savedmodel/functions.ts";
export type { ComputeDtype } from "./savedmodel/lower.ts";
export { mirasolInputs, type MirasolShapes, mirasolSignatures } from "./savedmodel/mirasol.ts";
export {
  type ExportError,
  ExportSpecError,
  ExportWriteError,
  TraceFailedError,
  UnsupportedOpError,
} from "./savedmodel/errors.ts";
export {
  exportGraphModel,
  type GraphModelArtifacts,
  graphModelArtifacts,
  graphModelFromDir,
  type GraphModelSpec,
} from "./graphmodel.ts";
