/**
 * What is in a media file, from ffprobe's JSON: the first real video stream (cover art excluded), the
 * first audio stream, and the duration. Probing first turns "no such file", "not media at all" and
 * "no video stream" into typed errors before any decoder starts.
 */
import { Effect, Schema } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import { stat } from "node:fs/promises";
import { DecodeError, MissingMedia } from "./errors.ts";
import { processText, QUIET_ARGS } from "./ffmpeg.ts";
import { decodeAt, NonNegativeInt } from "./schema_decode.ts";

export type VideoStreamInfo = {
  /** stream index in the container, for `-map 0:<index>` */
  readonly index: number;
  readonly codec: string;
  readonly width: number;
  readonly height: number;
  /** sample aspect ratio (pixel width / pixel height); 1 for square pixels */
  readonly sampleAspect: number;
  /** average frame rate, NaN when the container does not say */
  readonly fps: number;
  /**
   * seconds of video the container claims (stream duration, frame count / rate, matroska's DURATION
   * tag), NaN when it claims none: what a truncated file is measured against
   */
  readonly claimedS: number;
};

export type AudioStreamInfo = {
  readonly index: number;
  readonly codec: string;
  readonly sampleRate: number;
  readonly channels: number;
};

export type MediaInfo = {
  readonly file: string;
  /** container names as ffprobe gives them, e.g. "mov,mp4,m4a,3gp,3g2,mj2" */
  readonly format: string;
  /** seconds; NaN when neither the container nor a stream knows it */
  readonly durationS: number;
  readonly video: VideoStreamInfo | undefined;
  readonly audio: AudioStreamInfo | undefined;
  /** one line per stream, e.g. "0:video/h264", for error messages */
  readonly streams: readonly string[];
};

/**
 * The part of `ffprobe -print_format json -show_format -show_streams` read here. Numbers that
 * ffprobe prints as strings (durations, rates) stay strings and are parsed where used; a field of
 * the wrong JSON type (a broken or impostor ffprobe) is a DecodeError naming it.
 */
const ProbeStream = Schema.Struct({
  index: Schema.optionalKey(NonNegativeInt),
  codec_type: Schema.optionalKey(Schema.String),
  codec_name: Schema.optionalKey(Schema.String),
  width: Schema.optionalKey(NonNegativeInt),
  height: Schema.optionalKey(NonNegativeInt),
  sample_aspect_ratio: Schema.optionalKey(Schema.String),
  avg_frame_rate: Schema.optionalKey(Schema.String),
  r_frame_rate: Schema.optionalKey(Schema.String),
  sample_rate: Schema.optionalKey(Schema.String),
  channels: Schema.optionalKey(NonNegativeInt),
  duration: Schema.optionalKey(Schema.String),
  nb_frames: Schema.optionalKey(Schema.String),
  disposition: Schema.optionalKey(Schema.Struct({ attached_pic: Schema.optionalKey(Schema.Int) })),
  tags: Schema.optionalKey(Schema.Struct({ DURATION: Schema.optionalKey(Schema.String) })),
});
const ProbeJson = Schema.Struct({
  streams: Schema.optionalKey(Schema.Array(ProbeStream)),
  format: Schema.optionalKey(
    Schema.Struct({
      format_name: Schema.optionalKey(Schema.String),
      duration: Schema.optionalKey(Schema.String),
    }),
  ),
});
type ProbeStream = typeof ProbeStream.Type;

/** Fails with MissingMedia unless `file` is an existing regular file. */
export function requireFile(file: string): Effect.Effect<void, MissingMedia> {
  return Effect.tryPromise({
    try: () => stat(file),
    catch: (e) => new MissingMedia({ file, reason: errnoReason(e) }),
  }).pipe(
    Effect.flatMap((s) =>
      s.isFile() ? Effect.void : Effect.fail(new MissingMedia({ file, reason: "not a regular file" }))
    ),
  );
}

/** Probes `file` with ffprobe. Fails with MissingMedia, or DecodeError when ffprobe cannot read it. */
export function probeMedia(
  file: string,
): Effect.Effect<MediaInfo, MissingMedia | DecodeError, ChildProcessSpawner.ChildProcessSpawner> {
  return Effect.gen(function* () {
    yield* requireFile(file);
    const args = [...QUIET_ARGS, "-print_format", "json", "-show_format", "-show_streams", "--", file];
    const text = yield* processText("ffprobe", args.filter((a) => a !== "-nostdin"), file);
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: () => new DecodeError({ file, reason: "ffprobe printed no valid JSON" }),
    });
    return yield* parseProbe(file, json);
  });
}

/** MediaInfo from ffprobe's parsed JSON output; a field of the wrong type is a DecodeError naming it. */
export function parseProbe(file: string, raw: unknown): Effect.Effect<MediaInfo, DecodeError> {
  return decodeAt(ProbeJson, raw, (d) => new DecodeError({ file, reason: `unexpected ffprobe JSON: ${d}` }))
    .pipe(Effect.flatMap((json) => mediaInfo(file, json)));
}

function mediaInfo(file: string, json: typeof ProbeJson.Type): Effect.Effect<MediaInfo, DecodeError> {
  const streams = json.streams ?? [];
  if (!json.format || streams.length === 0) {
    return Effect.fail(new DecodeError({ file, reason: "ffprobe found no media streams" }));
  }
  const v = streams.find((s) => s.codec_type === "video" && !s.disposition?.attached_pic);
  const a = streams.find((s) => s.codec_type === "audio");
  const durations = [json.format.duration, ...streams.map((s) => s.duration)].map(Number).filter((d) =>
    d > 0
  );
  const video: VideoStreamInfo | undefined = v && {
    index: v.index ?? 0,
    codec: v.codec_name ?? "unknown",
    width: v.width ?? 0,
    height: v.height ?? 0,
    sampleAspect: ratio(v.sample_aspect_ratio, ":") || 1,
    fps: ratio(v.avg_frame_rate, "/") || ratio(v.r_frame_rate, "/"),
    claimedS: claimedVideoSeconds(v, streams.length === 1 ? json.format.duration : undefined),
  };
  if (video && (video.width <= 0 || video.height <= 0)) {
    return Effect.fail(new DecodeError({ file, reason: `video stream ${video.index} has no frame size` }));
  }
  const audio: AudioStreamInfo | undefined = a && {
    index: a.index ?? 0,
    codec: a.codec_name ?? "unknown",
    sampleRate: Number(a.sample_rate ?? NaN),
    channels: a.channels ?? 0,
  };
  return Effect.succeed({
    file,
    format: json.format.format_name ?? "unknown",
    durationS: durations.length ? durations[0] : NaN,
    video,
    audio,
    streams: streams.map((s) =>
      `${s.index}:${s.codec_type}/${s.codec_name}${s.disposition?.attached_pic ? " (cover art)" : ""}`
    ),
  });
}

/**
 * The longest video duration the container states: the stream's duration, its frame count over its
 * rate (AVI headers keep the count of a file cut short), matroska's DURATION tag, and the container's
 * duration when the video is its only stream (otherwise that may be the audio's).
 */
function claimedVideoSeconds(v: ProbeStream, containerDuration: string | undefined): number {
  const fps = ratio(v.avg_frame_rate, "/") || ratio(v.r_frame_rate, "/");
  const tag = /^(\d+):(\d+):(\d+(?:\.\d+)?)$/.exec(v.tags?.DURATION ?? "");
  const claims = [
    Number(v.duration),
    Number(v.nb_frames) / fps,
    tag ? Number(tag[1]) * 3600 + Number(tag[2]) * 60 + Number(tag[3]) : NaN,
    Number(containerDuration),
  ].filter((d) => Number.isFinite(d) && d > 0);
  return claims.length > 0 ? Math.max(...claims) : NaN;
}

/** "30000/1001" -> 29.97; "0/0", "N/A" or missing -> NaN. */
function ratio(text: string | undefined, sep: string): number {
  const [n, d] = (text ?? "").split(sep).map(Number);
  return d > 0 && n > 0 ? n / d : NaN;
}

function errnoReason(e: unknown): string {
  const code = (e as { code?: string })?.code;
  if (code === "ENOENT") return "no such file";
  if (code === "EACCES") return "permission denied";
  return e instanceof Error ? e.message : String(e);
}
