import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import fc from "fast-check";
import { Effect, Stream } from "effect";
import { chunkAlign } from "../../data/align.ts";
import { decodeClip } from "../../data/decode.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { LOG_MEL_DEFAULTS, melBandCentresHz } from "../../data/logmel.ts";
import {
  PALETTE,
  PITCHES,
  synthetic,
  SYNTHETIC_DEFAULTS,
  type SyntheticClip,
  syntheticQuestions,
  type SyntheticScene,
  syntheticScene,
} from "../../data/synthetic.ts";
import type { Clip } from "../../data/types.ts";

const T = SYNTHETIC_DEFAULTS.chunks;

Deno.test("syntheticScene(): T distinct palette colours, a tone chunk and pitch, deterministic per (seed, index)", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat({ max: 100_000 }), (seed, index) => {
      const s = syntheticScene(seed, index);
      assert.deepEqual(syntheticScene(seed, index), s);
      assert.equal(s.colours.length, T);
      assert.equal(new Set(s.colours).size, T, "colours repeat, so (d) would be ambiguous");
      for (const c of s.colours) assert.ok(PALETTE.some((p) => p.name === c));
      assert.ok(Number.isInteger(s.toneChunk) && s.toneChunk >= 0 && s.toneChunk < T);
      assert.equal(PITCHES.find((p) => p.name === s.pitch)?.hz, s.pitchHz);
    }),
    { numRuns: 200, seed: 5 },
  );
});

Deno.test("syntheticQuestions(): answers follow the scene; (d) asks about the colour just before the tone (yes) or during it (no)", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat({ max: 100_000 }), (seed, index) => {
      const s = syntheticScene(seed, index);
      const [a, b, c, d] = syntheticQuestions(s);
      assert.deepEqual([a.type, b.type, c.type, d.type], [
        "first_colour",
        "pitch",
        "colour_at_tone",
        "turned_before_tone",
      ]);
      assert.equal(a.answer, s.colours[0]);
      assert.equal(b.answer, s.pitch);
      assert.equal(c.answer, s.colours[s.toneChunk]);
      const asked = d.question.match(/^did the square turn (\w+) before the tone\?$/)?.[1];
      const whenAsked = s.colours.indexOf(asked as never);
      assert.equal(d.answer, whenAsked < s.toneChunk ? "yes" : "no", "answer contradicts the scene");
      assert.ok(whenAsked === s.toneChunk - 1 || whenAsked === s.toneChunk, "(d) asks about another chunk");
    }),
    { numRuns: 300, seed: 9 },
  );
});

Deno.test("synthetic set: (d) is yes for half the clips and no single modality answers (c) or (d) (issue 10 ceilings)", () => {
  const n = 20_000, scenes = Array.from({ length: n }, (_, i) => syntheticScene(17, i));
  const yesShare = scenes.filter((s) => s.turnQuestion.answer === "yes").length / n;
  assert.ok(Math.abs(yesShare - 0.5) < 0.015, `(d) yes share ${yesShare}`);
  for (const p of PITCHES) {
    const share = scenes.filter((s) => s.pitch === p.name).length / n;
    assert.ok(Math.abs(share - 1 / PITCHES.length) < 0.015, `pitch ${p.name}: ${share}`);
  }
  /** Accuracy of the best predictor that sees only `feature` of a scene (majority answer per feature value). */
  const ceiling = (feature: (s: SyntheticScene) => string, answer: (s: SyntheticScene) => string) => {
    const counts = new Map<string, Map<string, number>>();
    for (const s of scenes) {
      const byAnswer = counts.get(feature(s)) ?? new Map<string, number>();
      byAnswer.set(answer(s), (byAnswer.get(answer(s)) ?? 0) + 1);
      counts.set(feature(s), byAnswer);
    }
    return [...counts.values()].reduce((sum, m) => sum + Math.max(...m.values()), 0) / n;
  };
  const dAnswer = (s: SyntheticScene) => s.turnQuestion.answer;
  const videoOnlyD = ceiling((s) => String(s.colours.indexOf(s.turnQuestion.colour)), dAnswer);
  const audioOnlyD = ceiling((s) => `${s.toneChunk}`, dAnswer);
  // (c) from video alone: it knows the colours, so its best guess is the colour of the likeliest tone chunk
  const videoOnlyC = ceiling(() => "", (s) => String(s.toneChunk));
  const audioOnlyC = ceiling((s) => `${s.toneChunk}`, (s) => s.colours[s.toneChunk]);
  assert.ok(videoOnlyD <= 0.7, `video alone answers (d) ${videoOnlyD}`);
  assert.ok(audioOnlyD <= 0.7, `audio alone answers (d) ${audioOnlyD}`);
  assert.ok(videoOnlyC <= 0.32, `video alone answers (c) ${videoOnlyC}`);
  assert.ok(audioOnlyC <= 0.25, `audio alone answers (c) ${audioOnlyC}`);
});

// Rendering: a few real clips, decoded back and read like a model would have to.
const dir = await Deno.makeTempDir({ prefix: "synthetic_test_" });
const provide = <A, E>(e: Effect.Effect<A, E, never>) => Effect.runPromise(e);
const renderSet = (codec: "h264" | "mpeg4", count: number) =>
  provide(
    synthetic(`${dir}/${codec}`, { seed: 2024, count, codec, concurrency: 2 }).pipe(
      Stream.runCollect,
      Effect.provide(ffmpegLayer),
    ),
  );

/** The palette colour nearest the most saturated pixel of frame i: the square's colour. */
function squareColour(c: Clip, i: number): string {
  const [, H, W] = c.videoShape;
  let best = -1, rgb = [0, 0, 0];
  for (let p = 0; p < H * W; p++) {
    const o = (i * H * W + p) * 3, px = [c.video[o], c.video[o + 1], c.video[o + 2]];
    const saturation = Math.max(...px) - Math.min(...px);
    if (saturation > best) [best, rgb] = [saturation, px];
  }
  const dist = (q: readonly number[]) => q.reduce((s, v, k) => s + (v / 255 - rgb[k]) ** 2, 0);
  return PALETTE.reduce((a, b) => dist(b.rgb) < dist(a.rgb) ? b : a).name;
}

/** Rounded centroid of the saturated (square) pixels of frame i. */
function squareCentre(c: Clip, i: number): [number, number] {
  const [, H, W] = c.videoShape;
  let n = 0, sx = 0, sy = 0;
  for (let y = 0; y < H; y++) {
    for (let x = 0; x < W; x++) {
      const o = ((i * H + y) * W + x) * 3, px = [c.video[o], c.video[o + 1], c.video[o + 2]];
      if (Math.max(...px) - Math.min(...px) > 0.5) [n, sx, sy] = [n + 1, sx + x, sy + y];
    }
  }
  return [Math.round(sx / n), Math.round(sy / n)];
}

/** Mean log-mel of each chunk in the band nearest `hz`, using chunkAlign's column spans. */
function bandEnergyPerChunk(c: Clip, hz: number): number[] {
  const centres = melBandCentresHz();
  const band = centres.reduce((b, f, m) => Math.abs(f - hz) < Math.abs(centres[b] - hz) ? m : b, 0);
  const Mb = c.audioShape[1];
  const align = chunkAlign({
    frames: c.videoShape[0],
    chunks: T,
    fps: c.fps,
    columnsPerSecond: LOG_MEL_DEFAULTS.sampleRate / LOG_MEL_DEFAULTS.hop,
  });
  return align.chunks.map((s) => {
    // skip the column straddling each border: its 25 ms window reaches into the neighbour chunk
    let sum = 0;
    for (let j = s.firstColumn + 2; j < s.firstColumn + s.columnCount - 2; j++) sum += c.audio[j * Mb + band];
    return sum / (s.columnCount - 4);
  });
}

async function checkRendered(clips: readonly SyntheticClip[]) {
  for (const { scene, path, truthPath } of clips) {
    const truth = JSON.parse(await Deno.readTextFile(truthPath));
    assert.deepEqual(truth.scene, scene);
    assert.equal(truth.questions.length, 4);
    const c = await provide(
      decodeClip(path, { frames: 32, height: 32, width: 32, requireAudio: true }).pipe(
        Effect.provide(ffmpegLayer),
      ),
    );
    assert.deepEqual([...c.mediaMask], Array(32).fill(1));
    const K = 32 / T;
    for (let i = 0; i < 32; i++) {
      assert.equal(squareColour(c, i), scene.colours[Math.floor(i / K)], `${scene.id} frame ${i}`);
    }
    const positions = new Set(Array.from({ length: 32 }, (_, i) => squareCentre(c, i).join(",")));
    assert.ok(
      positions.size >= 16,
      `${scene.id}: the square barely moves (${positions.size} positions in 32 frames)`,
    );
    const energy = bandEnergyPerChunk(c, scene.pitchHz);
    const loudest = energy.indexOf(Math.max(...energy));
    assert.equal(loudest, scene.toneChunk, `${scene.id}: tone heard in chunk ${loudest}, energies ${energy}`);
    const quiet = energy.filter((_, t) => t !== scene.toneChunk);
    assert.ok(
      energy[scene.toneChunk] - Math.max(...quiet) > 2,
      `${scene.id}: tone not above the noise: ${energy}`,
    );
    // the pitch is identifiable: in the tone chunk, its own band beats the other pitches' bands
    const atTone = PITCHES.map((p) => bandEnergyPerChunk(c, p.hz)[scene.toneChunk]);
    assert.equal(PITCHES[atTone.indexOf(Math.max(...atTone))].name, scene.pitch, `${scene.id}: pitch`);
  }
}

Deno.test("synthetic(): rendered h264 clips decode to the scene: square colour per chunk, tone in its chunk at its pitch", async () => {
  const clips = await renderSet("h264", 4);
  assert.deepEqual(clips.map((c) => c.scene.index), [0, 1, 2, 3]);
  assert.deepEqual(clips.map((c) => c.scene), [0, 1, 2, 3].map((i) => syntheticScene(2024, i)));
  await checkRendered(clips);
  const names = [...Deno.readDirSync(`${dir}/h264`)].map((e) => e.name).sort();
  assert.deepEqual(
    names,
    clips.flatMap((c) => [`${c.scene.id}.json`, `${c.scene.id}.mp4`]).sort(),
    "stray or partial files",
  );
});

Deno.test("synthetic(): the mpeg4 codec renders the same scenes", async () => {
  await checkRendered(await renderSet("mpeg4", 2));
});

Deno.test("synthetic(): without a count it is an unbounded stream; a config with 7 chunks is a BadMediaConfig", async () => {
  const first = await provide(
    synthetic(`${dir}/stream`, { seed: 1, startIndex: 10 }).pipe(
      Stream.take(2),
      Stream.runCollect,
      Effect.provide(ffmpegLayer),
    ),
  );
  assert.deepEqual(first.map((c) => c.scene.index), [10, 11]);
  const bad = await provide(
    synthetic(`${dir}/bad`, { seed: 1, chunks: 7, frames: 28 }).pipe(
      Stream.runCollect,
      Effect.flip,
      Effect.provide(ffmpegLayer),
    ),
  );
  assert.equal(bad._tag, "BadMediaConfig");
  assert.match(bad.message, /option 'chunks'/);
});

Deno.test({
  name: "synthetic_test fixtures are removed",
  fn: () => Deno.remove(dir, { recursive: true }),
});
