/**
 * What the annotation loaders produce: one plain record per question or labelled clip, pointing at
 * its video under a video-root folder, plus `BadAnnotation`, the typed error for a row that cannot
 * be read (it names the file and the 1-based line). Rows are decoded by `Schema`, so a field of the
 * wrong type is named with what was expected and found, and a video id never reaches outside the
 * video root.
 */
import { Data, Effect, Schema } from "effect";
import { readdir, readFile, stat } from "node:fs/promises";
import { extname, isAbsolute, join, normalize, relative, sep } from "node:path";
import { decodeAt, NonBlankString } from "../schema_decode.ts";

export type Source = { readonly file: string; readonly line: number };

export type QaItem = {
  readonly kind: "qa";
  /** unique within the dataset: the question id */
  readonly id: string;
  readonly videoId: string;
  /** path of the video file (it may not exist: decoding reports MissingMedia) */
  readonly video: string;
  readonly question: string;
  readonly answer: string;
  /** multiple-choice candidates (NExT-QA), with `answer === choices[answerIndex]` */
  readonly choices?: readonly string[];
  readonly answerIndex?: number;
  /** dataset-specific question category (NExT-QA "CW", ActivityNet-QA type 0..8) */
  readonly questionType?: string;
  readonly source: Source;
};

export type ClassificationItem = {
  readonly kind: "classification";
  readonly id: string;
  readonly videoId: string;
  readonly video: string;
  readonly label: string;
  /** index of `label` in the dataset's sorted label list (or the list passed in) */
  readonly labelIndex: number;
  readonly source: Source;
};

export type AnnotationItem = QaItem | ClassificationItem;

export class BadAnnotation extends Data.TaggedError("BadAnnotation")<{
  readonly file: string;
  /** 1-based line of the row or JSON entry; 0 when the whole file is unreadable */
  readonly line: number;
  readonly reason: string;
}> {
  override get message() {
    return `Cannot read annotation ${this.file}${this.line > 0 ? `:${this.line}` : ""}: ${this.reason}`;
  }
}

export const readText = (file: string): Effect.Effect<string, BadAnnotation> =>
  Effect.tryPromise({
    try: () => readFile(file, "utf8"),
    catch: (e) =>
      new BadAnnotation({ file, line: 0, reason: `cannot read the file (${(e as Error).message})` }),
  }).pipe(Effect.map((text) => text.replace(/^\uFEFF/, "")));

const MEDIA_EXTENSIONS = new Set([".mp4", ".webm", ".mkv", ".avi", ".mov", ".m4v", ".wav", ".flac", ".mp3"]);

/** Finds a dataset's video files by id, wherever they sit under the root (Kinetics nests by class). */
export type VideoIndex = {
  readonly root: string;
  /**
   * The first candidate found under the root wins; otherwise `<root>/<first>.mp4`, which decoding
   * reports missing. A candidate that would lead outside the root (`../..`, an absolute path) fails.
   */
  readonly resolve: (
    source: Source,
    field: string,
    ...candidates: string[]
  ) => Effect.Effect<string, BadAnnotation>;
};

/** Whether `id` names a path inside the root: relative, no `..` above it, no NUL byte. */
function staysInside(root: string, id: string): boolean {
  if (id.includes("\0") || isAbsolute(id) || /^[A-Za-z]:[\\/]/.test(id)) return false;
  const rel = relative(root, normalize(join(root, id)));
  return rel !== ".." && !rel.startsWith(`..${sep}`) && !isAbsolute(rel);
}

export function indexVideos(root: string): Effect.Effect<VideoIndex, BadAnnotation> {
  return Effect.tryPromise({
    try: async () => {
      if (!(await stat(root)).isDirectory()) throw new Error("not a folder");
      return await readdir(root, { recursive: true });
    },
    catch: (e) =>
      new BadAnnotation({
        file: root,
        line: 0,
        reason: `video root is not a readable folder (${(e as Error).message})`,
      }),
  }).pipe(Effect.map((entries) => {
    const byStem = new Map<string, string>();
    for (const entry of entries.sort()) {
      const ext = extname(entry).toLowerCase();
      if (!MEDIA_EXTENSIONS.has(ext)) continue;
      const path = join(root, entry);
      const name = entry.split(/[\\/]/).pop()!;
      for (
        const key of [
          name,
          name.slice(0, -ext.length),
          relative(root, path),
          relative(root, path).slice(0, -ext.length),
        ]
      ) {
        if (!byStem.has(key)) byStem.set(key, path);
      }
    }
    return {
      root,
      resolve: (source: Source, field: string, ...candidates: string[]) => {
        const outside = candidates.find((c) => !staysInside(root, c));
        if (outside !== undefined) {
          return Effect.fail(
            new BadAnnotation({
              ...source,
              reason: `field ${field} ${JSON.stringify(outside)} leads outside the video root ${root}`,
            }),
          );
        }
        for (const c of candidates) {
          const hit = byStem.get(c);
          if (hit !== undefined) return Effect.succeed(hit);
        }
        const first = candidates[0];
        return Effect.succeed(join(root, extname(first) ? first : `${first}.mp4`));
      },
    };
  }));
}

type EntryStart = { readonly line: number; readonly offset: number };

/** Where each element of a top-level JSON array starts (JSON.parse gives no positions). */
function jsonArrayEntries(text: string): EntryStart[] {
  const starts: EntryStart[] = [];
  let depth = 0, line = 1, inString = false, expectEntry = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\n") line++;
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
      continue;
    }
    if (/\s/.test(c)) continue;
    if (depth === 1 && expectEntry && c !== "]") {
      starts.push({ line, offset: i });
      expectEntry = false;
    }
    if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      depth++;
      if (depth === 1 && c === "[") expectEntry = true;
    } else if (c === "]" || c === "}") depth--;
    else if (c === "," && depth === 1) expectEntry = true;
  }
  return starts;
}

/** The 1-based line on which each element of a top-level JSON array starts. */
export const jsonArrayEntryLines = (text: string): number[] => jsonArrayEntries(text).map((e) => e.line);

/** The line of the first entry that does not parse on its own, for a syntax error's message. */
function firstBadEntryLine(text: string): number {
  const starts = jsonArrayEntries(text);
  for (let k = 0; k < starts.length; k++) {
    const end = k + 1 < starts.length ? starts[k + 1].offset : text.lastIndexOf("]");
    const slice = text.slice(starts[k].offset, end > starts[k].offset ? end : undefined).trim().replace(
      /,$/,
      "",
    );
    try {
      JSON.parse(slice);
    } catch {
      return starts[k].line;
    }
  }
  return 0;
}

/** Parses a file holding a JSON array; a syntax error names the line of the entry that holds it. */
export function parseJsonArray(
  file: string,
  text: string,
): Effect.Effect<{ entries: unknown[]; lines: number[] }, BadAnnotation> {
  return Effect.try({
    try: () => JSON.parse(text) as unknown,
    catch: (e) =>
      new BadAnnotation({
        file,
        line: firstBadEntryLine(text),
        reason: `invalid JSON (${(e as Error).message})`,
      }),
  }).pipe(
    Effect.flatMap((value) =>
      Array.isArray(value)
        ? Effect.succeed({ entries: value, lines: jsonArrayEntryLines(text) })
        : Effect.fail(new BadAnnotation({ file, line: 1, reason: "expected a JSON array of entries" }))
    ),
  );
}

/**
 * A text field of a JSON entry: a non-blank string (trimmed), or a finite number printed as text,
 * since the released files number their videos and questions (`"video_id": 7010`).
 */
export const TextField = Schema.Union([NonBlankString, Schema.Finite]).annotate({
  expected: "a non-empty string or a number",
});

/** A text field's value as the loaders keep it. */
export const text = (v: string | number): string => typeof v === "number" ? String(v) : v.trim();

/** Decodes one JSON entry or CSV record; a mismatch names the field, the expected type and the value. */
export function decodeEntry<S extends Schema.Decoder<unknown>>(
  schema: S,
  entry: unknown,
  source: Source,
): Effect.Effect<S["Type"], BadAnnotation> {
  return decodeAt(schema, entry, (reason) => new BadAnnotation({ ...source, reason }), {
    root: "entry",
    fieldPrefix: "field ",
  });
}
