/** The media, ffprobe, decode-option and writer rows of the fault table (see fault_table.ts). */
import { Stream } from "effect";
import { join } from "node:path";
import { decodeClip, decodeFrames, type DecodeOptions } from "../../data/decode.ts";
import { parseProbe } from "../../data/probe.ts";
import { writeTFRecords } from "../../data/tfrecords.ts";
import { listShards } from "../../data/shard_manifest.ts";
import { synthetic } from "../../data/synthetic.ts";
import { generationExample } from "./_writer_child.ts";
import { type FaultCase, ffmpeg, truncated, write } from "./_fault_case.ts";

export function mediaFaults(dir: string): FaultCase[] {
  const av = ["-f", "lavfi", "-i", "testsrc=d=0.8:s=32x32:r=25", "-f", "lavfi", "-i", "sine=d=0.8"];
  const clip = ffmpeg(dir, "clip.mp4", [
    ...av,
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "aac",
    "-shortest",
  ]);
  const silent = ffmpeg(dir, "silent.mp4", [
    "-f",
    "lavfi",
    "-i",
    "testsrc=d=0.8:s=32x32:r=25",
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
  ]);
  const tone = ffmpeg(dir, "tone.wav", ["-f", "lavfi", "-i", "sine=d=0.5"]);
  const long = ["-f", "lavfi", "-i", "testsrc=d=4:s=64x48:r=25", "-f", "lavfi", "-i", "sine=d=4"];
  const avi = ffmpeg(dir, "long.avi", [...long, "-c:v", "mpeg4", "-c:a", "libmp3lame", "-shortest"]);
  const mkv = ffmpeg(dir, "long.mkv", [
    ...long,
    "-c:v",
    "libx264",
    "-pix_fmt",
    "yuv420p",
    "-c:a",
    "flac",
    "-shortest",
  ]);
  const halfAvi = truncated(dir, avi, "half.avi"), halfMkv = truncated(dir, mkv, "half.mkv");
  const halfMp4 = truncated(dir, clip, "half.mp4");
  const corrupt = write(dir, "corrupt.mp4", Uint8Array.from({ length: 30_000 }, (_, i) => (i * 7919) % 251));
  Deno.mkdirSync(join(dir, "a_folder.mp4"));
  const decode = (path: string, o: Partial<DecodeOptions> = {}) =>
    decodeClip(path, { frames: 20, height: 16, width: 16, ...o });

  // annotations and a video root
  const examples = (n: number) =>
    Stream.fromIterable(Array.from({ length: n }, (_, k) => generationExample(1, k)));
  const foreign = join(dir, "foreign_shards");
  Deno.mkdirSync(foreign);
  write(foreign, "data-00000-of-00001.tfrecord", new Uint8Array(16));
  const badManifest = join(dir, "bad_manifest");
  Deno.mkdirSync(badManifest);
  write(
    badManifest,
    "data.shards.json",
    JSON.stringify({
      format: "mirasol-ts tfrecord shards v1",
      name: "data",
      write: "x",
      examples: "3",
      video: "float",
      shards: [],
    }),
  );
  const aFile = write(dir, "plain_file", "not a folder");

  return [
    // ---- media
    {
      name: "a media file that does not exist",
      kind: "media",
      run: () => decode(join(dir, "nope.mp4")),
      tag: "MissingMedia",
      message: /nope\.mp4: no such file/,
    },
    {
      name: "a folder named like a clip",
      kind: "media",
      run: () => decode(join(dir, "a_folder.mp4")),
      tag: "MissingMedia",
      message: /a_folder\.mp4: not a regular file/,
    },
    {
      name: "random bytes named .mp4",
      kind: "media",
      run: () => decode(corrupt),
      tag: "DecodeError",
      message: /corrupt\.mp4: ffprobe exited with code 1: .*Invalid data/,
    },
    {
      name: "an mp4 cut in half (no moov atom)",
      kind: "media",
      run: () => decode(halfMp4),
      tag: "DecodeError",
      message: /half\.mp4: .*moov atom not found/,
    },
    {
      name: "an mkv cut in half",
      kind: "media",
      run: () => decode(halfMkv, { frames: 100 }),
      tag: "DecodeError",
      message: /half\.mkv: truncated input: .*ended prematurely/,
    },
    {
      name: "an avi cut in half, its header still claiming 4 s",
      kind: "media",
      run: () => decode(halfAvi, { frames: 100 }),
      tag: "DecodeError",
      message:
        /half\.avi: truncated: the container claims 4\.\d+ s of video, so 100 frames from 0 s at 25 fps, but only \d+ could be decoded/,
    },
    {
      name: "an audio-only file where frames are required",
      kind: "media",
      run: () => decode(tone),
      tag: "NoVideoStream",
      message: /tone\.wav: no video stream \(streams: 0:audio\/pcm_s16le\)/,
    },
    {
      name: "a clip without audio under requireAudio",
      kind: "media",
      run: () => decode(silent, { requireAudio: true }),
      tag: "NoAudioTrack",
      message: /silent\.mp4: no audio track and requireAudio is set/,
    },
    {
      name: "startS past the end of the clip",
      kind: "options",
      run: () => decode(clip, { startS: 5 }),
      tag: "BadMediaConfig",
      message: /'startS': 5 s is past the end of .*clip\.mp4 \(0\.8\d* s\)/,
    },
    {
      name: "startS past the end with uniform sampling",
      kind: "options",
      run: () => decode(clip, { startS: 3, sampling: "uniform" }),
      tag: "BadMediaConfig",
      message: /'startS': 3 s is past the end of .*clip\.mp4/,
    },
    {
      name: "startS past the end when streaming frames",
      kind: "options",
      run: () => Stream.runDrain(decodeFrames(clip, { height: 8, width: 8, startS: 9 })),
      tag: "BadMediaConfig",
      message: /'startS': 9 s is past the end/,
    },
    {
      name: "an unknown sampling mode",
      kind: "options",
      run: () => decode(clip, { sampling: "unifrom" as "uniform" }),
      tag: "BadMediaConfig",
      message: /'sampling': must be "fps" or "uniform", got "unifrom"/,
    },
    {
      name: "zero frames",
      kind: "options",
      run: () => decode(clip, { frames: 0 }),
      tag: "BadMediaConfig",
      message: /'frames': must be a positive integer, got 0/,
    },
    {
      name: "a NaN frame rate",
      kind: "options",
      run: () => decode(clip, { fps: NaN }),
      tag: "BadMediaConfig",
      message: /'fps': must be a finite number > 0, got NaN/,
    },
    {
      name: "a negative start",
      kind: "options",
      run: () => decode(clip, { startS: -1 }),
      tag: "BadMediaConfig",
      message: /'startS': must be a finite number >= 0, got -1/,
    },
    {
      name: "requireAudio given as a string",
      kind: "options",
      run: () => decode(clip, { requireAudio: "yes" as unknown as boolean }),
      tag: "BadMediaConfig",
      message: /'requireAudio': must be true or false, got "yes"/,
    },
    {
      name: "a frame rate that splits no spectrogram evenly",
      kind: "options",
      run: () => decode(clip, { fps: 30 }),
      tag: "BadMediaConfig",
      message: /'fps'.*columns per frame/,
    },

    // ---- ffprobe output
    {
      name: "ffprobe JSON whose streams is not a list",
      kind: "probe",
      run: () => parseProbe("x.mp4", { streams: {}, format: {} }),
      tag: "DecodeError",
      message: /x\.mp4: unexpected ffprobe JSON: streams: Expected .*got \{\}/,
    },
    {
      name: "ffprobe JSON with a width as text",
      kind: "probe",
      run: () => parseProbe("x.mp4", { streams: [{ codec_type: "video", width: "64" }], format: {} }),
      tag: "DecodeError",
      message: /streams\[0\]\.width: Expected .*got "64"/,
    },
    {
      name: "ffprobe JSON with a numeric duration",
      kind: "probe",
      run: () => parseProbe("x.mp4", { streams: [{ codec_type: "audio" }], format: { duration: 3 } }),
      tag: "DecodeError",
      message: /format\.duration: Expected string, got 3/,
    },
    {
      name: "ffprobe JSON that is not an object",
      kind: "probe",
      run: () => parseProbe("x.mp4", [1, 2]),
      tag: "DecodeError",
      message: /unexpected ffprobe JSON: value: Expected object/,
    },
    {
      name: "ffprobe JSON with no streams",
      kind: "probe",
      run: () => parseProbe("x.mp4", { streams: [], format: {} }),
      tag: "DecodeError",
      message: /x\.mp4: ffprobe found no media streams/,
    },

    // ---- writers and their options
    {
      name: "shards of zero examples each",
      kind: "writer",
      run: () => writeTFRecords(examples(1), join(dir, "s0"), { shardSize: 0 }),
      tag: "ShardWriteError",
      message: /s0: shardSize must be a positive integer, got 0/,
    },
    {
      name: "a shard name that is a path",
      kind: "writer",
      run: () => writeTFRecords(examples(1), join(dir, "s1"), { shardSize: 1, name: "../up" }),
      tag: "ShardWriteError",
      message: /name must be a plain file-name prefix/,
    },
    {
      name: "an unknown video encoding for shards",
      kind: "writer",
      run: () => writeTFRecords(examples(1), join(dir, "s2"), { shardSize: 1, video: "jpeg" as "png" }),
      tag: "ShardWriteError",
      message: /video must be "float" or "png", got "jpeg"/,
    },
    {
      name: "writing shards over another tool's shards",
      kind: "writer",
      run: () => writeTFRecords(examples(1), foreign, { shardSize: 1 }),
      tag: "ShardWriteError",
      message:
        /foreign_shards: it holds 'data' shards that no manifest of this writer lists \(data-00000-of-00001\.tfrecord\); pass overwrite: true/,
    },
    {
      name: "writing shards into a path that is a file",
      kind: "writer",
      run: () => writeTFRecords(examples(1), aFile, { shardSize: 1 }),
      tag: "ShardWriteError",
      message: /plain_file: /,
    },
    {
      name: "a manifest with a count given as text",
      kind: "writer",
      run: () => listShards(badManifest),
      tag: "ShardListError",
      message: /bad_manifest: data\.shards\.json: examples: Expected .*got "3"/,
    },
    {
      name: "listing a folder of shards without a manifest",
      kind: "writer",
      run: () => listShards(foreign),
      tag: "ShardListError",
      message: /foreign_shards: no \*\.shards\.json manifest beside its 1 \.tfrecord files/,
    },
    {
      name: "synthetic clips with 7 chunks",
      kind: "options",
      run: () => Stream.runDrain(synthetic(join(dir, "syn"), { seed: 1, count: 1, chunks: 7 })),
      tag: "BadMediaConfig",
      message: /'chunks': must be an integer in \[2, 6\], got 7/,
    },
    {
      name: "synthetic frames not a multiple of the chunks",
      kind: "options",
      run: () => Stream.runDrain(synthetic(join(dir, "syn"), { seed: 1, count: 1, frames: 30 })),
      tag: "BadMediaConfig",
      message: /'frames': must be a positive multiple of chunks \(4\), got 30/,
    },
    {
      name: "synthetic clips into a path that is a file",
      kind: "writer",
      run: () => Stream.runDrain(synthetic(aFile, { seed: 1, count: 1 })),
      tag: "RenderError",
      message: /plain_file: /,
    },
  ];
}
