/**
 * Real media to `Clip`s: ffmpeg decodes frames to rgb24 and audio to 16 kHz mono f32le on stdout, two
 * scoped children per clip, read straight from the pipes. Frames are sampled at `fps` from `startS`
 * ("fps", the paper's 25 fps) or spread evenly over the whole clip ("uniform"), resized with an
 * aspect-preserving centre crop. The log-mel covers the same span, r = sampleRate / (hop * fps) columns
 * per frame, so the spectrogram splits into chunks aligned with the video (see align.ts).
 *
 * Letters: N frames, H/W height/width, F = N * r columns, Mb mel bins, S samples.
 */
import { Effect, Stream } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import type { Clip } from "./types.ts";
import { BadMediaConfig, DecodeError, type MediaError, NoAudioTrack, NoVideoStream } from "./errors.ts";
import { fixedRecords, processStdout, QUIET_ARGS, readBytes, STRICT_ARGS } from "./ffmpeg.ts";
import { type MediaInfo, probeMedia } from "./probe.ts";
import { LOG_MEL_DEFAULTS, logMel, type LogMelOptions, logMelProblem, samplesForColumns } from "./logmel.ts";
import { integerColumnsPerFrame, resampleColumns } from "./align.ts";

export type DecodeOptions = {
  /** N frames per clip */
  readonly frames: number;
  readonly height: number;
  readonly width: number;
  /** "fps": N frames at `fps` from `startS`; "uniform": N frames spread over the clip. Default "fps". */
  readonly sampling?: "fps" | "uniform";
  /** frame rate of "fps" sampling, and the rate that fixes r columns per frame in both modes. Default 25. */
  readonly fps?: number;
  /** seconds to skip at the start. Default 0. */
  readonly startS?: number;
  /** fail with NoAudioTrack instead of returning silence with hasAudio = false. Default false. */
  readonly requireAudio?: boolean;
  /** fail with NoVideoStream for audio-only files. When false, such files give black frames. Default true. */
  readonly requireVideo?: boolean;
  readonly logMel?: Partial<LogMelOptions>;
  /** the Clip's id. Default: the file path. */
  readonly id?: string;
};

type Resolved = {
  readonly N: number;
  readonly H: number;
  readonly W: number;
  readonly sampling: "fps" | "uniform";
  readonly fps: number;
  readonly startS: number;
  readonly requireAudio: boolean;
  readonly requireVideo: boolean;
  readonly mel: LogMelOptions;
  /** r, spectrogram columns per frame */
  readonly columnsPerFrame: number;
};

type Spawner = ChildProcessSpawner.ChildProcessSpawner;

/** Decodes one file into a Clip: N frames [N, H, W, 3] in [0, 1], log-mel [N * r, Mb], mediaMask [N]. */
export function decodeClip(path: string, options: DecodeOptions): Effect.Effect<Clip, MediaError, Spawner> {
  return Effect.gen(function* () {
    const o = yield* resolveOptions(options);
    const info = yield* probeMedia(path);
    if (!info.video && o.requireVideo) return yield* new NoVideoStream({ file: path, streams: info.streams });
    if (!info.audio && o.requireAudio) return yield* new NoAudioTrack({ file: path, streams: info.streams });
    yield* startWithin(info, o);
    const spanS = o.sampling === "fps" ? o.N / o.fps : yield* uniformSpan(info, o);
    const [frames, samples] = yield* Effect.all([
      info.video ? decodeFrameBytes(info, o, spanS) : Effect.succeed({ bytes: new Uint8Array(0), length: 0 }),
      info.audio ? decodeSamples(info, o, spanS) : Effect.succeed(undefined),
    ], { concurrency: 2 });
    const frameBytes = o.H * o.W * 3;
    const decodedFrames = info.video
      ? Math.floor(frames.length / frameBytes)
      : audioCoveredFrames(samples, o, spanS);
    if (info.video) yield* checkNotTruncated(info, o, spanS, decodedFrames);
    const video = new Float32Array(o.N * frameBytes); // [N, H, W, 3]; padding (and audio-only) stays 0
    if (info.video) { for (let i = 0; i < decodedFrames * frameBytes; i++) video[i] = frames.bytes[i] / 255; }
    const mediaMask = new Uint8Array(o.N).fill(1, 0, decodedFrames);
    const F = o.N * o.columnsPerFrame;
    return {
      id: options.id ?? path,
      video,
      videoShape: [o.N, o.H, o.W, 3] as const,
      audio: spectrogram(samples?.samples ?? new Float32Array(0), o, spanS),
      audioShape: [F, o.mel.melBins] as const,
      mediaMask,
      hasAudio: info.audio !== undefined,
      fps: o.sampling === "fps" ? o.fps : o.N / spanS,
    };
  });
}

/** A Clip per path, in order, `concurrency` decodes at a time (each decode runs two ffmpeg children). */
export function decodeClips(
  paths: Iterable<string>,
  options: DecodeOptions & { readonly concurrency?: number },
): Stream.Stream<Clip, MediaError, Spawner> {
  return Stream.fromIterable(paths).pipe(
    Stream.mapEffect((p) => decodeClip(p, { ...options, id: undefined }), {
      concurrency: options.concurrency ?? 1,
    }),
  );
}

/**
 * The frames of `path` one at a time as float32 [H, W, 3] in [0, 1], at `fps` from `startS`, as ffmpeg
 * produces them: at most `frames` of them when given, else to the end of the video. Stopping early
 * (Stream.take) or interrupting the consumer kills the decoder.
 */
export function decodeFrames(
  path: string,
  options: Pick<DecodeOptions, "height" | "width" | "fps" | "startS"> & { readonly frames?: number },
): Stream.Stream<Float32Array, MediaError, Spawner> {
  return Stream.unwrap(Effect.gen(function* () {
    const o = yield* resolveOptions({ ...options, frames: options.frames ?? 1 }, { spectrogram: false });
    const info = yield* probeMedia(path);
    if (!info.video) return yield* new NoVideoStream({ file: path, streams: info.streams });
    yield* startWithin(info, o);
    const limit = options.frames === undefined ? [] : ["-frames:v", String(o.N)];
    const args = videoArgs(info, o, `fps=${o.fps}:start_time=0`, limit);
    return fixedRecords(processStdout("ffmpeg", args, path), o.H * o.W * 3).pipe(
      Stream.map((rgb) => Float32Array.from(rgb, (b) => b / 255)),
    );
  }));
}

/** Defaults and checks; `spectrogram: false` (frames only) allows any fps, as no r is needed. */
function resolveOptions(
  options: DecodeOptions,
  { spectrogram = true } = {},
): Effect.Effect<Resolved, BadMediaConfig> {
  return Effect.gen(function* () {
    const fps = options.fps ?? 25;
    for (const k of ["frames", "height", "width"] as const) {
      if (!Number.isInteger(options[k]) || options[k] <= 0) {
        return yield* new BadMediaConfig({
          option: k,
          reason: `must be a positive integer, got ${options[k]}`,
        });
      }
    }
    if (!(fps > 0 && Number.isFinite(fps))) {
      return yield* new BadMediaConfig({ option: "fps", reason: `must be a finite number > 0, got ${fps}` });
    }
    const startS = options.startS ?? 0;
    if (!(startS >= 0 && Number.isFinite(startS))) {
      return yield* new BadMediaConfig({
        option: "startS",
        reason: `must be a finite number >= 0, got ${startS}`,
      });
    }
    const sampling = options.sampling ?? "fps";
    if (sampling !== "fps" && sampling !== "uniform") {
      return yield* new BadMediaConfig({
        option: "sampling",
        reason: `must be "fps" or "uniform", got ${JSON.stringify(sampling)}`,
      });
    }
    for (const k of ["requireAudio", "requireVideo"] as const) {
      if (options[k] !== undefined && typeof options[k] !== "boolean") {
        return yield* new BadMediaConfig({
          option: k,
          reason: `must be true or false, got ${JSON.stringify(options[k])}`,
        });
      }
    }
    const mel: LogMelOptions = { ...LOG_MEL_DEFAULTS, ...options.logMel };
    const bad = logMelProblem(mel);
    if (bad) return yield* bad;
    const r = spectrogram ? integerColumnsPerFrame(fps, mel.sampleRate, mel.hop) : 0;
    if (r instanceof BadMediaConfig) return yield* r;
    return {
      N: options.frames,
      H: options.height,
      W: options.width,
      sampling,
      fps,
      startS,
      requireAudio: options.requireAudio ?? false,
      requireVideo: options.requireVideo ?? true,
      mel,
      columnsPerFrame: r,
    };
  });
}

/** Fails when `startS` is at or past the end of the file: every frame would be padding. */
function startWithin(info: MediaInfo, o: Resolved): Effect.Effect<void, BadMediaConfig> {
  if (o.startS === 0 || !(o.startS >= info.durationS)) return Effect.void;
  return Effect.fail(
    new BadMediaConfig({
      option: "startS",
      reason: `${o.startS} s is past the end of ${info.file} (${info.durationS} s)`,
    }),
  );
}

/**
 * Fails when ffmpeg decoded fewer frames than the container says the span holds: a file cut short
 * (an interrupted download) whose header still claims its full length. Two frames, or 2%, of slack
 * absorb the rounding of the fps filter at the end of a stream.
 */
function checkNotTruncated(
  info: MediaInfo,
  o: Resolved,
  spanS: number,
  decoded: number,
): Effect.Effect<void, DecodeError> {
  const claimedS = info.video!.claimedS;
  if (!Number.isFinite(claimedS)) return Effect.void;
  const rate = o.sampling === "fps" ? o.fps : o.N / spanS;
  const expected = Math.min(o.N, Math.floor((claimedS - o.startS) * rate + 1e-6));
  if (decoded >= expected - Math.max(2, Math.ceil(0.02 * expected))) return Effect.void;
  return Effect.fail(
    new DecodeError({
      file: info.file,
      reason:
        `truncated: the container claims ${claimedS.toFixed(3)} s of video, so ${expected} frames from ` +
        `${o.startS} s at ${Number(rate.toFixed(4))} fps, but only ${decoded} could be decoded`,
    }),
  );
}

/** Seconds covered by "uniform" sampling: the rest of the clip after startS. */
function uniformSpan(info: MediaInfo, o: Resolved): Effect.Effect<number, DecodeError | BadMediaConfig> {
  const span = info.durationS - o.startS;
  if (Number.isNaN(info.durationS)) {
    return Effect.fail(
      new BadMediaConfig({
        option: "sampling",
        reason: `${info.file} has no known duration to sample uniformly`,
      }),
    );
  }
  if (!(span > 0)) {
    return Effect.fail(
      new BadMediaConfig({
        option: "startS",
        reason: `${o.startS} s is past the end of ${info.file} (${info.durationS} s)`,
      }),
    );
  }
  return Effect.succeed(span);
}

/** ffmpeg arguments that write rgb24 frames of size W x H to stdout. */
function videoArgs(info: MediaInfo, o: Resolved, rate: string, extra: readonly string[]): string[] {
  const v = info.video!;
  const filters = [
    ...(Math.abs(v.sampleAspect - 1) > 1e-6 ? ["scale=trunc(iw*sar/2)*2:ih,setsar=1"] : []), // square pixels first
    rate,
    `scale=${o.W}:${o.H}:force_original_aspect_ratio=increase:flags=area`, // cover H x W, keep aspect
    `crop=${o.W}:${o.H}`, // centre crop (crop centres by default)
  ];
  return [
    ...QUIET_ARGS,
    ...STRICT_ARGS,
    ...seekArgs(o),
    ...pairs(["-i", info.file], ["-map", `0:${v.index}`], ["-vf", filters.join(",")]),
    ...extra,
    ...pairs(["-f", "rawvideo"], ["-pix_fmt", "rgb24"]),
    "pipe:1",
  ];
}

function seekArgs(o: Resolved): string[] {
  return o.startS > 0 ? ["-ss", String(o.startS)] : [];
}

/** Flattens option/value pairs into an argument list: keeps ffmpeg command lines readable. */
function pairs(...options: readonly (readonly [string, string])[]): string[] {
  return options.flat();
}

function decodeFrameBytes(info: MediaInfo, o: Resolved, spanS: number) {
  // uniform: rate N / span, so ffmpeg's fps filter emits frame i from time startS + i * span / N
  // start_time=0: a video stream that starts late is padded (first frame held) so frame i stays at i / fps
  const rate = `fps=${o.sampling === "fps" ? o.fps : `${o.N}/${spanS.toFixed(6)}`}:start_time=0`;
  const args = videoArgs(info, o, rate, ["-frames:v", String(o.N)]);
  return readBytes(processStdout("ffmpeg", args, info.file), o.N * o.H * o.W * 3);
}

/** Mono samples at mel.sampleRate from startS, as many as the spectrogram of the span needs. */
function decodeSamples(info: MediaInfo, o: Resolved, spanS: number) {
  const sr = o.mel.sampleRate;
  const wanted = o.sampling === "fps"
    ? samplesForColumns(o.N * o.columnsPerFrame, o.mel) // (F - 1) * hop + window: exactly F columns
    : Math.ceil(spanS * sr) + o.mel.window; // the whole span, plus the last column's window
  const args = [
    ...QUIET_ARGS,
    ...STRICT_ARGS,
    ...seekArgs(o),
    ...pairs(["-i", info.file], ["-map", `0:${info.audio!.index}`]),
    ...pairs(["-af", "aresample=async=1:first_pts=0"]), // an audio track that starts late is padded with silence
    ...pairs(["-ac", "1"], ["-ar", String(sr)], ["-t", ((wanted + 1) / sr).toFixed(6)], ["-f", "f32le"]),
    "pipe:1",
  ];
  return readBytes(processStdout("ffmpeg", args, info.file), wanted * 4).pipe(
    Effect.map(({ bytes, length }) => ({
      // f32le on a little-endian host (x86, arm64); a short file leaves zeros (silence) at the end
      samples: new Float32Array(bytes.buffer, 0, wanted),
      decoded: Math.floor(length / 4),
    })),
  );
}

/** Frames of an audio-only file that its audio reaches, for mediaMask. */
function audioCoveredFrames(
  samples: { readonly decoded: number } | undefined,
  o: Resolved,
  spanS: number,
): number {
  if (!samples) return 0;
  const frameS = spanS / o.N;
  return Math.min(o.N, Math.ceil(samples.decoded / o.mel.sampleRate / frameS - 1e-9));
}

/** float32 [N * r, Mb] log-mel of the span; silence when the file has no audio. */
function spectrogram(samples: Float32Array, o: Resolved, spanS: number): Float32Array {
  const F = o.N * o.columnsPerFrame;
  if (o.sampling === "fps") {
    // decodeSamples returns exactly the samples F columns need; a file without audio gets silence
    return logMel(samples.length > 0 ? samples : new Float32Array(samplesForColumns(F, o.mel)), o.mel);
  }
  const full = samples.length > 0
    ? samples
    : new Float32Array(Math.ceil(spanS * o.mel.sampleRate) + o.mel.window);
  const columnsPerSecond = o.mel.sampleRate / o.mel.hop;
  return resampleColumns(logMel(full, o.mel), o.mel.melBins, columnsPerSecond, 0, spanS, F);
}
