/**
 * Typed failures of media decoding and rendering. Each names the file and says what was wrong, so a
 * dataset run that skips bad items can report them, and callers can recover with `Effect.catchTag`.
 */
import { Data } from "effect";

/** ffmpeg or ffprobe could not read the file: corrupt, truncated, unsupported, or ffmpeg missing. */
export class DecodeError extends Data.TaggedError("DecodeError")<{
  readonly file: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot decode ${this.file}: ${this.reason}`;
  }
}

/** The media file does not exist (or is not a readable regular file). */
export class MissingMedia extends Data.TaggedError("MissingMedia")<{
  readonly file: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot open ${this.file}: ${this.reason}`;
  }
}

/** Frames were asked for, but the file has no video stream (cover art does not count). */
export class NoVideoStream extends Data.TaggedError("NoVideoStream")<{
  readonly file: string;
  readonly streams: readonly string[];
}> {
  override get message(): string {
    const found = this.streams.length ? this.streams.join(", ") : "none";
    return `Cannot decode video of ${this.file}: no video stream (streams: ${found})`;
  }
}

/** `requireAudio: true` was set and the file has no audio track. */
export class NoAudioTrack extends Data.TaggedError("NoAudioTrack")<{
  readonly file: string;
  readonly streams: readonly string[];
}> {
  override get message(): string {
    const found = this.streams.length ? this.streams.join(", ") : "none";
    return `Cannot decode audio of ${this.file}: no audio track and requireAudio is set (streams: ${found})`;
  }
}

/** Decoding, spectrogram or alignment options that cannot work together. */
export class BadMediaConfig extends Data.TaggedError("BadMediaConfig")<{
  readonly option: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot use media option '${this.option}': ${this.reason}`;
  }
}

/** ffmpeg failed to render a synthetic clip to `file`. */
export class RenderError extends Data.TaggedError("RenderError")<{
  readonly file: string;
  readonly reason: string;
}> {
  override get message(): string {
    return `Cannot render ${this.file}: ${this.reason}`;
  }
}

/** Every failure a media decode can end with. */
export type MediaError = DecodeError | MissingMedia | NoVideoStream | NoAudioTrack | BadMediaConfig;
