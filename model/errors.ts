/**
 * Typed errors of `model/`. `model/` throws (it is synchronous tensor code); the `_tag` of
 * `Data.TaggedError` still lets Effect code that wraps a model call recover with `catchTag`.
 * Messages name the action, a colon, then what was wrong.
 */
import { Data } from "effect";

/** An input tensor has the wrong shape: `Cannot apply attention to x: expected shape [B, T, 64], got [2, 5, 32]`. */
export class ShapeError extends Data.TaggedError("ShapeError")<{
  readonly op: string;
  readonly input: string;
  readonly expected: string;
  readonly got: readonly number[];
}> {
  override get message(): string {
    return `Cannot apply ${this.op} to ${this.input}: expected shape ${this.expected}, got [${
      this.got.join(", ")
    }]`;
  }
}

/** An input tensor has the wrong dtype: `Cannot apply embedding to ids: expected dtype int32, got float32`. */
export class DTypeError extends Data.TaggedError("DTypeError")<{
  readonly op: string;
  readonly input: string;
  readonly expected: string;
  readonly got: string;
}> {
  override get message(): string {
    return `Cannot apply ${this.op} to ${this.input}: expected dtype ${this.expected}, got ${this.got}`;
  }
}

/**
 * A configuration or option value is unusable: `Cannot init attention: heads must be a positive
 * integer, got 0`. `action` is the verb phrase after "Cannot".
 */
export class ConfigError extends Data.TaggedError("ConfigError")<{
  readonly action: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot ${this.action}: ${this.reason}`;
  }
}

/** Throws a ConfigError unless every named value is a positive integer (widths, counts, lengths). */
export function requirePositiveInts(
  action: string,
  values: Readonly<Record<string, number | undefined>>,
): void {
  for (const [name, v] of Object.entries(values)) {
    if (v === undefined) continue;
    if (!Number.isInteger(v) || v <= 0) {
      throw new ConfigError({ action, reason: `${name} must be a positive integer, got ${v}` });
    }
  }
}

/** Throws a ConfigError unless `rate` is a probability in [0, 1). */
export function requireRate(action: string, name: string, rate: number): void {
  if (!(rate >= 0 && rate < 1)) {
    throw new ConfigError({ action, reason: `${name} must be in [0, 1), got ${rate}` });
  }
}
