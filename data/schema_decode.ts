/**
 * Decoding what was read from a file with effect's `Schema`, at the door: the value either has the
 * declared shape or the caller gets one line saying where it does not, as a field path and the
 * expected type with the value found (`streams[1].width: Expected a number, got "x"`). Every loader
 * of data/ turns that line into its own typed error (BadAnnotation, DecodeError, TokenizerError...).
 */
import { Effect, Result, Schema, SchemaIssue } from "effect";

/** `["streams", 1, "width"]` -> `streams[1].width`; keys that are not identifiers are quoted. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = "";
  for (const key of path) {
    if (typeof key === "number") out += `[${key}]`;
    else if (typeof key === "string" && /^[A-Za-z_$][\w$]*$/.test(key)) out += out === "" ? key : `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

export type DescribeOptions = {
  /** what to call the whole value when it is the problem (default "value") */
  readonly root?: string;
  /** put before each field path (annotations say "field answer: ...") */
  readonly fieldPrefix?: string;
  /** how many problems to spell out (default 3) */
  readonly limit?: number;
};

/** The first few problems of a failed decode, `path: message` each, joined by "; ". */
export function describeIssue(issue: SchemaIssue.Issue, options: DescribeOptions = {}): string {
  const { root = "value", fieldPrefix = "", limit = 3 } = options;
  const issues = formatter(issue).issues;
  const lines = issues.slice(0, limit).map((i) => {
    const path = formatPath((i.path ?? []).map((p) => (typeof p === "object" ? p.key : p)) as PropertyKey[]);
    const message = i.message === "Missing key"
      ? "missing"
      : i.message.startsWith("Unexpected key") || i.message.startsWith("Expected no excess")
      ? "unknown field"
      : i.message;
    return path === "" ? `${root}: ${message}` : `${fieldPrefix}${path}: ${message}`;
  });
  const more = issues.length > limit ? `; and ${issues.length - limit} more` : "";
  return lines.join("; ") + more;
}

export type DecodeOptions = DescribeOptions & {
  /** refuse keys the schema does not declare (a misspelt field), rather than dropping them */
  readonly exact?: boolean;
};

/** Decodes `input`, failing with `onError(description)` where it does not fit `schema`. */
export function decodeAt<S extends Schema.Decoder<unknown>, E>(
  schema: S,
  input: unknown,
  onError: (description: string) => E,
  options: DecodeOptions = {},
): Effect.Effect<S["Type"], E> {
  const r = decodeSyncResult(schema, input, options);
  return Result.isSuccess(r) ? Effect.succeed(r.success) : Effect.fail(onError(r.failure));
}

/** The same as a plain `Result`, for code that is not an Effect (tokenizer builders). */
export function decodeSyncResult<S extends Schema.Decoder<unknown>>(
  schema: S,
  input: unknown,
  options: DecodeOptions = {},
): Result.Result<S["Type"], string> {
  const r = Schema.decodeUnknownResult(schema)(input, {
    errors: "all",
    onExcessProperty: options.exact ? "error" : "ignore",
    reportInput: true,
  });
  return Result.isSuccess(r)
    ? Result.succeed(r.success)
    : Result.fail(describeIssue(r.failure.issue, options));
}

/** A non-negative integer: counts, ids, sizes. */
export const NonNegativeInt = Schema.Int.check(Schema.isGreaterThanOrEqualTo(0));

/** A string with something other than whitespace in it. */
export const NonBlankString = Schema.String.check(
  Schema.makeFilter((s: string) => s.trim() !== "" || "Expected a non-empty string"),
);
