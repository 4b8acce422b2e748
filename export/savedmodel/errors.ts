/**
 * Export failures, in the Effect channel. Each names what could not be exported and where: the op
 * and the layer path and source line it was traced at, or the file that could not be written.
 */
import { Data } from "effect";

/** A traced kernel, dtype or shape with no TensorFlow (or tfjs graph model) equivalent. */
export class UnsupportedOpError extends Data.TaggedError("UnsupportedOpError")<{
  readonly op: string;
  readonly layer: string;
  readonly source: string;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot export ${this.op} at ${this.layer || "<top level>"} (${this.source}): ${this.reason}`;
  }
}

/** The function could not be traced (dynamic shape, data-dependent read, kernel without shape rule). */
export class TraceFailedError extends Data.TaggedError("TraceFailedError")<{
  readonly signature: string;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot trace signature '${this.signature}': ${this.reason}`;
  }
}

/** The export spec itself is inconsistent (clashing names, missing params, bad mode). */
export class ExportSpecError extends Data.TaggedError("ExportSpecError")<{ readonly reason: string }> {
  override get message() {
    return `Cannot export: ${this.reason}`;
  }
}

/** Files could not be written; the partial export was removed. */
export class ExportWriteError
  extends Data.TaggedError("ExportWriteError")<{ readonly path: string; readonly reason: string }> {
  override get message() {
    return `Cannot write export to ${this.path}: ${this.reason}`;
  }
}

export type ExportError = UnsupportedOpError | TraceFailedError | ExportSpecError | ExportWriteError;
