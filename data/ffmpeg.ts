/**
 * ffmpeg and ffprobe as scoped child processes. The child belongs to the scope of the stream that reads
 * its stdout: when the stream ends, fails, is interrupted, or its consumer stops early (`Stream.take`),
 * the scope closes and the spawner kills the child and waits for it, so no decoder outlives its reader.
 * Bytes go through pipes only, never through temporary files.
 */
import { Effect, Fiber, Layer, Stream } from "effect";
import { ChildProcess, type ChildProcessSpawner } from "effect/process";
import * as NodeChildProcessSpawner from "@effect/platform-node/NodeChildProcessSpawner";
import * as NodeFileSystem from "@effect/platform-node/NodeFileSystem";
import * as NodePath from "@effect/platform-node/NodePath";
import { DecodeError } from "./errors.ts";

export type FfmpegProgram = "ffmpeg" | "ffprobe";

/** Everything the media functions need from the platform: a Node-compatible child-process spawner. */
export const ffmpegLayer: Layer.Layer<ChildProcessSpawner.ChildProcessSpawner> = NodeChildProcessSpawner.layer
  .pipe(
    Layer.provide(Layer.mergeAll(NodeFileSystem.layer, NodePath.layer)),
  );

/** Keep this much of stderr: enough for ffmpeg's last complaint, bounded for runaway logs. */
const STDERR_TAIL_CHARS = 2000;

/** What ffmpeg logs, exit code 0 notwithstanding, when a file ends before its streams do. */
const TRUNCATION = /ended prematurely|partial file|truncat|unexpected end|Invalid data found/i;

/** Arguments every decoder run starts with: no stdin prompts, no banner, only real errors on stderr. */
export const QUIET_ARGS: readonly string[] = ["-nostdin", "-hide_banner", "-loglevel", "error"];

/** ffmpeg (not ffprobe) flag: stop with a non-zero exit on the first decoding error. */
export const STRICT_ARGS: readonly string[] = ["-xerror"];

/**
 * The stdout of `program args` as a byte stream. `file` names the media in errors. After stdout ends the
 * exit code is checked: non-zero fails with a DecodeError carrying the tail of stderr. Decoders have
 * nothing to flush, so an early stop kills them with SIGKILL at once.
 */
export function processStdout(
  program: FfmpegProgram,
  args: readonly string[],
  file: string,
): Stream.Stream<Uint8Array, DecodeError, ChildProcessSpawner.ChildProcessSpawner> {
  return Stream.unwrap(Effect.gen(function* () {
    const handle = yield* ChildProcess.make(program, [...args], {
      stdin: "ignore",
      killSignal: "SIGKILL",
      forceKillAfter: "1 second",
    }).pipe(Effect.mapError((e) => startError(program, file, e)));
    // stderr is drained concurrently: a full stderr pipe would block ffmpeg's stdout as well.
    const stderr = yield* handle.stderr.pipe(
      Stream.decodeText,
      Stream.runFold(() => "", (tail: string, s: string) => (tail + s).slice(-STDERR_TAIL_CHARS)),
      Effect.forkScoped,
    );
    const checkExit = Effect.gen(function* () {
      const code = yield* handle.exitCode.pipe(Effect.mapError((e) => startError(program, file, e)));
      const log = yield* Fiber.join(stderr).pipe(Effect.orElseSucceed(() => ""));
      if (code !== 0) {
        return yield* new DecodeError({
          file,
          reason: `${program} exited with code ${code}: ${lastLines(log)}`,
        });
      }
      // Demuxers log a truncated matroska/avi/webm and still exit 0: the data stopped early, so fail.
      if (TRUNCATION.test(log)) {
        return yield* new DecodeError({ file, reason: `truncated input: ${lastLines(log)}` });
      }
    });
    const stdout = handle.stdout.pipe(
      Stream.mapError((e) => new DecodeError({ file, reason: `${program} stdout failed: ${e.message}` })),
    );
    return Stream.concat(stdout, Stream.fromEffectDrain(checkExit));
  }));
}

/** Runs `program args` to completion and returns its stdout as text (ffprobe's JSON). */
export function processText(
  program: FfmpegProgram,
  args: readonly string[],
  file: string,
): Effect.Effect<string, DecodeError, ChildProcessSpawner.ChildProcessSpawner> {
  return processStdout(program, args, file).pipe(Stream.decodeText, Stream.mkString);
}

/**
 * Reads at most `capacity` bytes of `stream` into one buffer and stops there (which ends the child).
 * Returns the buffer and how many bytes arrived; fewer than `capacity` means the media ended early.
 */
export function readBytes<E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  capacity: number,
): Effect.Effect<{ readonly bytes: Uint8Array; readonly length: number }, E, R> {
  return Effect.suspend(() => {
    const bytes = new Uint8Array(capacity);
    let length = 0;
    return stream.pipe(
      Stream.takeWhile(() => length < capacity),
      Stream.runForEach((chunk) =>
        Effect.sync(() => {
          const n = Math.min(chunk.length, capacity - length);
          bytes.set(n === chunk.length ? chunk : chunk.subarray(0, n), length);
          length += n;
        })
      ),
      Effect.map(() => ({ bytes, length })),
    );
  });
}

/**
 * Splits a byte stream into records of exactly `size` bytes (video frames), whatever the pipe's chunking.
 * A trailing partial record (a truncated last frame) is dropped.
 */
export function fixedRecords<E, R>(
  stream: Stream.Stream<Uint8Array, E, R>,
  size: number,
): Stream.Stream<Uint8Array, E, R> {
  type Acc = { readonly pending: Uint8Array; readonly filled: number };
  return stream.pipe(
    Stream.mapAccum(
      (): Acc => ({ pending: new Uint8Array(size), filled: 0 }),
      (acc: Acc, chunk: Uint8Array) => {
        const out: Uint8Array[] = [];
        let { pending, filled } = acc;
        let offset = 0;
        while (offset < chunk.length) {
          const n = Math.min(size - filled, chunk.length - offset);
          pending.set(chunk.subarray(offset, offset + n), filled);
          filled += n;
          offset += n;
          if (filled === size) {
            out.push(pending);
            pending = new Uint8Array(size);
            filled = 0;
          }
        }
        return [{ pending, filled }, out] as const;
      },
    ),
  );
}

function startError(program: FfmpegProgram, file: string, e: { readonly message: string }): DecodeError {
  const hint = /ENOENT|not found/i.test(e.message)
    ? ` (is ${program} installed? Debian: apt-get install ffmpeg)`
    : "";
  return new DecodeError({ file, reason: `cannot run ${program}: ${e.message}${hint}` });
}

/** The last few non-empty lines of an ffmpeg log, joined on one line. */
function lastLines(log: string, count = 3): string {
  const lines = log.split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
  return lines.length ? lines.slice(-count).join(" | ") : "(no message)";
}
