/**
 * A Mirasol config read from JSON (a --config file, an export's config): decoded by effect's
 * `Schema` at the door, so a file missing a section or with a value of the wrong type fails with a
 * ConfigError naming the field path and the expected type, and a misspelt key is refused with the
 * nearest valid name instead of being ignored. Then `validateConfig` checks the values.
 */
import { Result, Schema, SchemaIssue } from "effect";
import { type MirasolConfig, validateConfig } from "./config_schema.ts";
import { ConfigError } from "./errors.ts";

const Count = Schema.Int;
const Triple = Schema.Tuple([Count, Count, Count]);
const Weight = Schema.Finite;

const Width = Schema.Struct({ dim: Count, heads: Count, headDim: Count, mlpHidden: Count });
const Tube = Schema.Struct({ kernel: Triple, stride: Triple, offset: Schema.Tuple([Count, Count]) });
const Video = Schema.Struct({
  frames: Count,
  chunks: Count,
  height: Count,
  width: Count,
  tubes: Schema.Array(Tube),
});
const Audio = Schema.Struct({
  columnsPerFrame: Count,
  melBins: Count,
  patchColumns: Count,
  patchBins: Count,
});
const Combiner = Schema.Union([
  Schema.Struct({ kind: Schema.Literal("causal_transformer"), layers: Count, outTokens: Count }),
  Schema.Struct({
    kind: Schema.Literal("ttm"),
    layers: Count,
    outTokens: Count,
    memoryTokens: Count,
    processTokens: Count,
    tokenLearnerHidden: Count,
  }),
  Schema.Struct({ kind: Schema.Literal("perceiver"), layers: Count, outTokens: Count }),
  Schema.Struct({ kind: Schema.Literal("cls"), layers: Count, outTokens: Count }),
  Schema.Struct({ kind: Schema.Literal("none") }),
]);
const Reconstruction = Schema.Struct({
  depth: Count,
  videoFrames: Count,
  videoHeight: Count,
  videoWidth: Count,
  audio: Schema.Boolean,
  audioColumns: Count,
  audioBins: Count,
});
const Text = Schema.Struct({
  vocab: Count,
  maxLength: Count,
  dim: Count,
  depth: Count,
  heads: Count,
  headDim: Count,
  mlpHidden: Count,
  tieEmbeddings: Schema.Boolean,
});
const Config = Schema.Struct({
  name: Schema.String,
  width: Width,
  video: Video,
  audio: Schema.NullOr(Audio),
  encoderDepth: Count,
  shareBackbone: Schema.Boolean,
  combiner: Combiner,
  combinerMaskRatio: Weight,
  latentDepth: Count,
  latentAttention: Schema.optionalKey(Schema.Literals(["chunk_causal", "bidirectional"])),
  reconstruction: Reconstruction,
  text: Text,
  losses: Schema.Struct({ latent: Weight, reconstruction: Weight, text: Weight }),
  latentStopGradient: Schema.Boolean,
  dropout: Weight,
});

const COMBINER_KINDS: readonly string[] = Combiner.members.map((m) => m.fields.kind.literal);

/** The keys each section may have (for "did you mean"); arrays are looked through. */
const KEYS: Record<string, readonly string[]> = {
  "": Object.keys(Config.fields),
  width: Object.keys(Width.fields),
  video: Object.keys(Video.fields),
  "video.tubes": Object.keys(Tube.fields),
  audio: Object.keys(Audio.fields),
  combiner: [...new Set(Combiner.members.flatMap((m) => Object.keys(m.fields)))],
  reconstruction: Object.keys(Reconstruction.fields),
  text: Object.keys(Text.fields),
  losses: ["latent", "reconstruction", "text"],
};

/** Levenshtein distance, for the nearest valid key. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diag = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const up = row[j];
      row[j] = Math.min(
        row[j] + 1,
        row[j - 1] + 1,
        diag + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1),
      );
      diag = up;
    }
  }
  return row[b.length];
}

/** The valid key nearest to `key` in the section at `section`, if one is close enough to be a typo. */
export function nearestKey(section: string, key: string): string | undefined {
  let best: string | undefined, bestD = Infinity;
  for (const k of KEYS[section] ?? []) {
    const d = distance(key, k);
    if (d < bestD) [best, bestD] = [k, d];
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(key.length / 3)) ? best : undefined;
}

const formatter = SchemaIssue.makeFormatterStandardSchemaV1();

function pathText(path: readonly PropertyKey[]): string {
  return path.map((p, i) => typeof p === "number" ? `[${p}]` : i === 0 ? String(p) : `.${String(p)}`).join(
    "",
  );
}

/**
 * Decodes `json` (parsed, untyped) as a MirasolConfig and validates it; `source` names where it came
 * from in the error (`config file 'x.json'`). Throws ConfigError naming the first bad field.
 */
export function decodeConfig(json: unknown, source = "config"): MirasolConfig {
  const fail = (reason: string): never => {
    throw new ConfigError({ action: `use ${source}`, reason });
  };
  // A union's own message lists every member; the kind alone says what was meant.
  const kind = (json as { combiner?: { kind?: unknown } } | null)?.combiner?.kind;
  if (
    typeof json === "object" && json !== null && kind !== undefined &&
    !COMBINER_KINDS.includes(kind as string)
  ) {
    fail(
      `combiner.kind: Expected one of ${COMBINER_KINDS.map((k) => `"${k}"`).join(", ")}, got ${
        JSON.stringify(kind)
      }`,
    );
  }
  const r = Schema.decodeUnknownResult(Config)(json, {
    errors: "all",
    onExcessProperty: "error",
    reportInput: true,
  });
  if (Result.isFailure(r)) {
    const issues = formatter(r.failure.issue).issues;
    const first = issues[0];
    const path = (first?.path ?? []).map((
      p,
    ) => (typeof p === "object" ? (p as { key: PropertyKey }).key : p));
    const field = path.length === 0 ? "the config" : pathText(path);
    let reason = first?.message ?? "does not decode";
    if (/Unexpected key|excess/i.test(reason)) {
      const section = pathText(path.slice(0, -1).filter((p) => typeof p !== "number"));
      const near = nearestKey(section, String(path[path.length - 1]));
      reason = `is not a config field${near ? ` (did you mean '${near}'?)` : ""}`;
    } else if (reason === "Missing key") {
      reason = "is missing";
    } else reason = `: ${reason}`;
    const more = issues.length > 1 ? ` (and ${issues.length - 1} more)` : "";
    return fail(`${field}${reason.startsWith(":") ? "" : " "}${reason}${more}`);
  }
  try {
    return validateConfig(r.success as MirasolConfig);
  } catch (e) {
    if (e instanceof ConfigError) return fail(e.reason);
    throw e;
  }
}
