/**
 * What is in a media file, from ffprobe's JSON: the first real video stream (cover art excluded), the
 * first audio stream, and the duration. Probing first turns "no such file", "not media at all" and
 * "no video stream" into typed errors before any decoder starts.
 */
import { Effect } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import { stat } from "node:fs/promises";
import { DecodeError, MissingMedia } from "./errors.ts";
import { processText, QUIET_ARGS } from "./ffmpeg.ts";

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

type ProbeStream = {
  readonly index?: number;
  readonly codec_type?: string;
  readonly codec_name?: string;
  readonly width?: number;
  readonly height?: number;
  readonly sample_aspect_ratio?: string;
  readonly avg_frame_rate?: string;
  readonly r_frame_rate?: string;
  readonly sample_rate?: string;
  readonly channels?: number;
  readonly duration?: string;
  readonly disposition?: { readonly attached_pic?: number };
};
type ProbeJson = {
  readonly streams?: readonly ProbeStream[];
  readonly format?: { readonly format_name?: string; readonly duration?: string };
};

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
      try: () => JSON.parse(text) as ProbeJson,
      catch: () => new DecodeError({ file, reason: "ffprobe printed no valid JSON" }),
    });
    return yield* parseProbe(file, json);
  });
}

function parseProbe(file: string, json: ProbeJson): Effect.Effect<MediaInfo, DecodeError> {
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
