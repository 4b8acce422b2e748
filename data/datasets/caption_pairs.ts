/**
 * Video-text pairs for pretraining (Mirasol3B §3.6 pretrains on VTP, noisy web video + caption):
 * a CSV with `video,caption` columns, or JSON lines `{"video": ..., "caption": ...}`, chosen by the
 * file's extension (`.jsonl` / `.ndjson` are JSON lines, anything else CSV). Every row is decoded
 * by `Schema`; the first bad one fails the load with a `BadAnnotation` naming its line and field.
 */
import { Effect, Schema } from "effect";
import {
  BadAnnotation,
  decodeEntry,
  indexVideos,
  readText,
  type Source,
  text,
  TextField,
} from "./annotation.ts";
import { parseCsv } from "./csv.ts";

export type CaptionItem = {
  readonly kind: "caption";
  /** unique within the file: the video id, `#n` added when a video has several captions */
  readonly id: string;
  readonly videoId: string;
  /** path of the video file (it may not exist: decoding reports MissingMedia) */
  readonly video: string;
  readonly caption: string;
  readonly source: Source;
};

export type CaptionFiles = { readonly annotations: string; readonly videoRoot: string };

const CaptionRow = Schema.Struct({ video: TextField, caption: TextField });

const isJsonLines = (file: string) => /\.(jsonl|ndjson)$/i.test(file);

/** The rows of a JSON-lines file with their 1-based lines; blank lines are skipped. */
function jsonLines(
  file: string,
  content: string,
): Effect.Effect<{ line: number; value: unknown }[], BadAnnotation> {
  return Effect.gen(function* () {
    const rows: { line: number; value: unknown }[] = [];
    const lines = content.split(/\r?\n/);
    for (let i = 0; i < lines.length; i++) {
      if (lines[i].trim() === "") continue;
      const value = yield* Effect.try({
        try: () => JSON.parse(lines[i]) as unknown,
        catch: (e) =>
          new BadAnnotation({ file, line: i + 1, reason: `invalid JSON (${(e as Error).message})` }),
      });
      rows.push({ line: i + 1, value });
    }
    if (rows.length === 0) return yield* new BadAnnotation({ file, line: 1, reason: "the file has no rows" });
    return rows;
  });
}

/** Loads the caption pairs of `files.annotations`, videos resolved under `files.videoRoot`. */
export function loadCaptionPairs(files: CaptionFiles): Effect.Effect<CaptionItem[], BadAnnotation> {
  return Effect.gen(function* () {
    const index = yield* indexVideos(files.videoRoot);
    const content = yield* readText(files.annotations);
    const rows = isJsonLines(files.annotations)
      ? yield* jsonLines(files.annotations, content)
      : (yield* parseCsv(files.annotations, content, ["video", "caption"])).map((r) => ({
        line: r.line,
        value: r.fields as unknown,
      }));
    const seen = new Map<string, number>();
    const items: CaptionItem[] = [];
    for (const { line, value } of rows) {
      const source: Source = { file: files.annotations, line };
      const row = yield* decodeEntry(CaptionRow, value, source);
      const videoId = text(row.video);
      // a video with several captions still gets distinct ids
      const n = seen.get(videoId) ?? 0;
      seen.set(videoId, n + 1);
      items.push({
        kind: "caption",
        id: n === 0 ? videoId : `${videoId}#${n}`,
        videoId,
        video: yield* index.resolve(source, "video", videoId),
        caption: text(row.caption),
        source,
      });
    }
    return items;
  });
}
