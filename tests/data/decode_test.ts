import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import { Effect, Stream } from "effect";
import { decodeClip, decodeClips, decodeFrames, type DecodeOptions } from "../../data/decode.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { probeMedia } from "../../data/probe.ts";
import { LOG_MEL_DEFAULTS, melBandCentresHz } from "../../data/logmel.ts";
import type { Clip } from "../../data/types.ts";

// Fixtures, rendered once by ffmpeg into a temp dir. The pattern is 64x32: green side bars around a red
// (first 0.4 s) then blue (next 0.4 s) centre, so a 16x16 centre crop sees only red, then only blue.
const dir = await Deno.makeTempDir({ prefix: "decode_test_" });
const PATTERN =
  "color=c=red:s=64x32:r=30:d=0.4[r];color=c=blue:s=64x32:r=30:d=0.4[b];[r][b]concat=n=2:v=1:a=0," +
  "drawbox=x=0:y=0:w=16:h=32:c=lime:t=fill,drawbox=x=48:y=0:w=16:h=32:c=lime:t=fill";
const TONE_1K = "sine=f=1000:r=44100:d=0.8";
const VIDEO_CODECS = {
  mp4: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10", "-c:a", "aac"],
  webm: ["-c:v", "libvpx", "-b:v", "1M", "-c:a", "libopus"],
  mkv: ["-c:v", "libx264", "-pix_fmt", "yuv420p", "-crf", "10", "-c:a", "flac"],
  avi: ["-c:v", "mpeg4", "-q:v", "2", "-c:a", "libmp3lame"],
} as const;

function render(name: string, args: string[]): string {
  const out = new Deno.Command("ffmpeg", { args: ["-v", "error", "-y", ...args, `${dir}/${name}`] })
    .outputSync();
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return `${dir}/${name}`;
}
for (const [ext, codec] of Object.entries(VIDEO_CODECS)) {
  render(`pattern.${ext}`, [
    "-f",
    "lavfi",
    "-i",
    TONE_1K,
    "-filter_complex",
    `${PATTERN}[v]`,
    "-map",
    "[v]",
    "-map",
    "0:a",
    ...codec,
    "-t",
    "0.8",
  ]);
}
render("silent.mp4", [
  "-filter_complex",
  `${PATTERN}[v]`,
  "-map",
  "[v]",
  "-c:v",
  "libx264",
  "-pix_fmt",
  "yuv420p",
]);
for (const ext of ["wav", "flac", "mp3"]) render(`tone.${ext}`, ["-f", "lavfi", "-i", TONE_1K]);
// audio track that starts 0.4 s after the video (an mp4 edit list): its tone must stay at 0.4 s
render("late_audio.mkv", [
  ...[
    "-f",
    "lavfi",
    "-i",
    "color=c=red:s=32x32:r=25:d=1",
    "-itsoffset",
    "0.4",
    "-f",
    "lavfi",
    "-i",
    "sine=f=1000:d=0.6",
  ],
  ...["-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "flac"],
]);

const run = <A, E>(e: Effect.Effect<A, E, never>) => Effect.runPromise(Effect.result(e));
const decode = (path: string, o: Partial<DecodeOptions> = {}) =>
  run(decodeClip(path, { frames: 20, height: 16, width: 16, ...o }).pipe(Effect.provide(ffmpegLayer)));
async function decodeOk(path: string, o: Partial<DecodeOptions> = {}): Promise<Clip> {
  const r = await decode(path, o);
  if (r._tag === "Failure") throw new Error(`expected ${path} to decode: ${r.failure.message}`);
  return r.success;
}
async function decodeFails(path: string, o: Partial<DecodeOptions> = {}) {
  const r = await decode(path, o);
  if (r._tag === "Success") throw new Error(`expected ${path} to fail`);
  return r.failure;
}

/** Every pixel of frame i is within `tol` of `rgb`. */
function assertFrameColour(c: Clip, i: number, rgb: readonly number[], tol = 0.12) {
  const [, H, W] = c.videoShape;
  for (let p = 0; p < H * W; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = c.video[(i * H * W + p) * 3 + ch];
      assert.ok(
        Math.abs(v - rgb[ch]) <= tol,
        `frame ${i} pixel ${p} channel ${ch} is ${v}, expected ${rgb[ch]}`,
      );
    }
  }
}

/** The mel band whose centre is nearest `hz`, and the band where column j of a clip peaks. */
const nearestBand = (hz: number) =>
  melBandCentresHz().reduce((b, c, m, all) => Math.abs(c - hz) < Math.abs(all[b] - hz) ? m : b, 0);
function peakBand(c: Clip, j: number): number {
  const Mb = c.audioShape[1], row = c.audio.subarray(j * Mb, (j + 1) * Mb);
  return row.indexOf(Math.max(...row));
}

for (const ext of Object.keys(VIDEO_CODECS)) {
  Deno.test(`decodeClip() on ${ext}: 25 fps frames, centre-cropped, match the rendered colours; the 1 kHz tone peaks in its mel band`, async () => {
    const c = await decodeOk(`${dir}/pattern.${ext}`);
    assert.deepEqual(c.videoShape, [20, 16, 16, 3]);
    assert.deepEqual(c.audioShape, [80, LOG_MEL_DEFAULTS.melBins]); // N * r = 20 * 4
    assert.equal(c.fps, 25);
    assert.ok(c.hasAudio);
    assert.deepEqual([...c.mediaMask], Array(20).fill(1));
    for (let i = 0; i < 9; i++) assertFrameColour(c, i, [1, 0, 0]); // 0 .. 0.36 s: red, side bars cropped away
    for (let i = 11; i < 20; i++) assertFrameColour(c, i, [0, 0, 1]); // 0.44 .. 0.8 s: blue
    for (const j of [4, 40, 70]) assert.equal(peakBand(c, j), nearestBand(1000), `column ${j}`);
  });
}

for (const ext of ["wav", "flac", "mp3"]) {
  Deno.test(`decodeClip() on audio-only ${ext}: 16 kHz mono log-mel of the tone, black frames, NoVideoStream unless allowed`, async () => {
    const c = await decodeOk(`${dir}/tone.${ext}`, { requireVideo: false });
    assert.ok(c.hasAudio);
    assert.ok(c.video.every((v) => v === 0));
    assert.equal(c.mediaMask.reduce((a, b) => a + b, 0), 20); // 0.8 s of audio covers all 20 frames
    for (const j of [8, 40, 72]) assert.equal(peakBand(c, j), nearestBand(1000), `column ${j}`);
    const e = await decodeFails(`${dir}/tone.${ext}`);
    assert.equal(e._tag, "NoVideoStream");
    assert.match(e.message, new RegExp(`tone\\.${ext}: no video stream \\(streams: 0:audio/`));
  });
}

Deno.test("decodeClip() pads a clip shorter than N frames with zeros and marks it in mediaMask, never looping", async () => {
  const c = await decodeOk(`${dir}/pattern.mp4`, { frames: 32 }); // 0.8 s at 25 fps = 20 real frames
  assert.deepEqual([...c.mediaMask], [...Array(20).fill(1), ...Array(12).fill(0)]);
  const frame = 16 * 16 * 3;
  assert.ok(c.video.subarray(20 * frame).every((v) => v === 0), "padding frames are not black");
  assert.deepEqual(c.audioShape, [128, LOG_MEL_DEFAULTS.melBins]);
  const silence = Math.log(LOG_MEL_DEFAULTS.logOffset);
  const Mb = LOG_MEL_DEFAULTS.melBins;
  assert.ok(
    c.audio.subarray(90 * Mb).every((v) => Math.abs(v - silence) < 1e-5),
    "audio after the end is not silence",
  );
});

Deno.test("decodeClip() with uniform sampling spreads N frames over the whole clip", async () => {
  const c = await decodeOk(`${dir}/pattern.mkv`, { frames: 8, sampling: "uniform" });
  assert.ok(Math.abs(c.fps - 10) < 0.1, `8 frames over 0.8 s is 10 fps, got ${c.fps}`);
  assert.deepEqual([...c.mediaMask], Array(8).fill(1));
  for (let i = 0; i < 4; i++) assertFrameColour(c, i, [1, 0, 0]);
  for (let i = 4; i < 8; i++) assertFrameColour(c, i, [0, 0, 1]);
  assert.deepEqual(c.audioShape, [32, LOG_MEL_DEFAULTS.melBins]);
  for (const j of [2, 16, 30]) assert.equal(peakBand(c, j), nearestBand(1000));
});

Deno.test("decodeClip() keeps an audio track that starts late at its place in time (silence before it)", async () => {
  const c = await decodeOk(`${dir}/late_audio.mkv`, { frames: 25 });
  const Mb = c.audioShape[1], band = nearestBand(1000), silence = Math.log(LOG_MEL_DEFAULTS.logOffset);
  for (let j = 0; j < 36; j++) {
    assert.ok(c.audio[j * Mb + band] < silence + 1, `column ${j} (${j * 10} ms) hears the tone early`);
  }
  for (let j = 44; j < 96; j++) {
    assert.equal(peakBand(c, j), band, `column ${j} (${j * 10} ms) misses the tone`);
  }
});

Deno.test("decodeClip() on a file without audio gives silence and hasAudio = false, or NoAudioTrack with requireAudio", async () => {
  const c = await decodeOk(`${dir}/silent.mp4`);
  assert.equal(c.hasAudio, false);
  assert.ok(c.audio.every((v) => Math.abs(v - Math.log(LOG_MEL_DEFAULTS.logOffset)) < 1e-5));
  assertFrameColour(c, 0, [1, 0, 0]);
  const e = await decodeFails(`${dir}/silent.mp4`, { requireAudio: true });
  assert.equal(e._tag, "NoAudioTrack");
  assert.match(e.message, /silent\.mp4: no audio track and requireAudio is set \(streams: 0:video\/h264\)/);
});

Deno.test("decodeClip() fails with typed errors naming the file: missing, corrupt, truncated mp4 and webm, no video", async () => {
  const missing = await decodeFails(`${dir}/nope.mp4`);
  assert.equal(missing._tag, "MissingMedia");
  assert.match(missing.message, /nope\.mp4: no such file/);

  await Deno.writeFile(`${dir}/corrupt.mp4`, Uint8Array.from({ length: 40_000 }, (_, i) => (i * 7919) % 251));
  const corrupt = await decodeFails(`${dir}/corrupt.mp4`);
  assert.equal(corrupt._tag, "DecodeError");
  assert.match(corrupt.message, /corrupt\.mp4: ffprobe exited with code 1: .*Invalid data found/);

  for (const ext of ["mp4", "webm"]) {
    const whole = await Deno.readFile(`${dir}/pattern.${ext}`);
    await Deno.writeFile(`${dir}/truncated.${ext}`, whole.subarray(0, whole.length >> 1));
    const truncated = await decodeFails(`${dir}/truncated.${ext}`);
    assert.equal(truncated._tag, "DecodeError", `truncated ${ext}`);
    assert.match(
      truncated.message,
      new RegExp(`truncated\\.${ext}: .*(moov atom not found|ended prematurely)`),
    );
  }

  const noVideo = await decodeFails(`${dir}/tone.wav`);
  assert.equal(noVideo._tag, "NoVideoStream");
});

Deno.test("decodeClip() rejects impossible options in the error channel, naming the option", async () => {
  const notWhole = await decodeFails(`${dir}/pattern.mp4`, { fps: 30 }); // 100 / 30 columns per frame
  assert.equal(notWhole._tag, "BadMediaConfig");
  assert.match(notWhole.message, /option 'fps'.*3\.3333 columns per frame/);
  const mel = await decodeFails(`${dir}/pattern.mp4`, { logMel: { fMax: 12_000 } });
  assert.match(mel.message, /option 'fMin\/fMax'/);
  assert.equal((await decodeFails(`${dir}/pattern.mp4`, { frames: 0 }))._tag, "BadMediaConfig");
});

Deno.test("probeMedia() finds the streams, duration and frame size of a real file", async () => {
  const r = await run(probeMedia(`${dir}/pattern.webm`).pipe(Effect.provide(ffmpegLayer)));
  assert.equal(r._tag, "Success");
  const info = r._tag === "Success" ? r.success : undefined!;
  assert.equal(info.video?.codec, "vp8");
  assert.deepEqual([info.video?.width, info.video?.height], [64, 32]);
  assert.equal(info.audio?.codec, "opus");
  assert.ok(Math.abs(info.durationS - 0.8) < 0.05);
});

Deno.test("decodeFrames() streams every frame at any fps (30 here: no spectrogram, so no whole-r constraint)", async () => {
  const r = await run(
    decodeFrames(`${dir}/pattern.mkv`, { height: 16, width: 16, fps: 30 }).pipe(
      Stream.runCollect,
      Effect.provide(ffmpegLayer),
    ),
  );
  assert.equal(r._tag, "Success");
  const frames = r._tag === "Success" ? r.success : [];
  assert.equal(frames.length, 24); // 0.8 s at 30 fps
  assert.ok(frames.every((f) => f.length === 16 * 16 * 3));
  const centre = (f: Float32Array) => [...f.subarray((8 * 16 + 8) * 3, (8 * 16 + 8) * 3 + 3)].map(Math.round);
  assert.deepEqual(centre(frames[0]), [1, 0, 0]);
  assert.deepEqual(centre(frames[23]), [0, 0, 1]);
});

Deno.test("decodeClips() streams clips in the order of the paths, decoding two at a time", async () => {
  const paths = ["mp4", "webm", "mkv", "avi"].map((e) => `${dir}/pattern.${e}`);
  const r = await run(
    decodeClips(paths, { frames: 4, height: 8, width: 8, concurrency: 2 }).pipe(
      Stream.runCollect,
      Effect.provide(ffmpegLayer),
    ),
  );
  assert.equal(r._tag, "Success");
  if (r._tag === "Success") assert.deepEqual(r.success.map((c) => c.id), paths);
});

Deno.test({
  name: "decode_test fixtures are removed",
  fn: () => Deno.remove(dir, { recursive: true }),
});
