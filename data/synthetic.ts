/**
 * Synthetic audio-video QA clips rendered by ffmpeg (the bench/avqa task): a coloured square bouncing on a dark
 * background changes colour at every chunk boundary (all T colours distinct, from a palette of 6), and a
 * tone at one of 4 pitches sounds during exactly one chunk over white noise. Four questions per clip need
 * the video (a), the audio (b), both in time (c), and their order (d). Everything is drawn from
 * (seed, index), so clip i is the same whatever the count, concurrency or order of rendering.
 *
 * Letters: N frames, T chunks, K = N / T frames per chunk.
 */
import { Effect, Stream } from "effect";
import type { ChildProcessSpawner } from "effect/process";
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { cleanStaleTemps, commitFile, tempPath, writeFileAtomic } from "../formats/atomic_write.ts";
import { BadMediaConfig, RenderError } from "./errors.ts";
import { processStdout, QUIET_ARGS } from "./ffmpeg.ts";
import { vocabularyOf } from "./tokenizer/word.ts";
import { seededUniform } from "./seeded_random.ts";

export type SyntheticConfig = {
  /** N frames per clip (32: the ablation setting, T = 4 chunks of 8) */
  readonly frames: number;
  readonly fps: number;
  /** T chunks; the square changes colour at each chunk boundary. 2 <= T <= 6 (distinct colours). */
  readonly chunks: number;
  readonly height: number;
  readonly width: number;
  /** side of the square in pixels */
  readonly squareSize: number;
  readonly sampleRate: number;
  readonly codec: "h264" | "mpeg4";
  readonly toneAmplitude: number;
  readonly noiseAmplitude: number;
};

export const SYNTHETIC_DEFAULTS: SyntheticConfig = {
  frames: 32, // 32 frames at 25 fps, T = 4 chunks of 8 (the paper's ablation setting, §4.1)
  fps: 25,
  chunks: 4,
  height: 32,
  width: 32,
  squareSize: 10, // big enough that h264's 4:2:0 chroma keeps its centre's colour
  sampleRate: 16_000,
  codec: "h264",
  toneAmplitude: 0.3,
  noiseAmplitude: 0.05, // ~16 dB below the tone: audible background, pitch still clear
};

export const PALETTE = [
  { name: "red", rgb: [255, 0, 0] },
  { name: "green", rgb: [0, 255, 0] },
  { name: "blue", rgb: [0, 0, 255] },
  { name: "yellow", rgb: [255, 255, 0] },
  { name: "cyan", rgb: [0, 255, 255] },
  { name: "magenta", rgb: [255, 0, 255] },
] as const;
export type ColourName = (typeof PALETTE)[number]["name"];

/** One octave apart, so each lands in well-separated mel bands. */
export const PITCHES = [
  { name: "low", hz: 300 },
  { name: "mid", hz: 600 },
  { name: "high", hz: 1200 },
  { name: "very high", hz: 2400 },
] as const;
export type PitchName = (typeof PITCHES)[number]["name"];

/** The ground truth of one clip: everything the renderer and the questions are made from. */
export type SyntheticScene = {
  readonly id: string;
  readonly seed: number;
  readonly index: number;
  /** [T] colour of the square in each chunk, all distinct */
  readonly colours: readonly ColourName[];
  /** the chunk during which the tone sounds */
  readonly toneChunk: number;
  readonly pitch: PitchName;
  readonly pitchHz: number;
  /** (d) asks about the colour just before the tone (yes) or during it (no) */
  readonly turnQuestion: { readonly colour: ColourName; readonly answer: "yes" | "no" };
  /** bounce phase and speed in pixels and pixels/s: x(t) = R - |R - ((phase + speed t) mod 2R)| */
  readonly motion: {
    readonly phaseX: number;
    readonly phaseY: number;
    readonly speedX: number;
    readonly speedY: number;
  };
  /** seed of ffmpeg's noise source */
  readonly noiseSeed: number;
};

export type QuestionType = "first_colour" | "pitch" | "colour_at_tone" | "turned_before_tone";
export type QAPair = {
  readonly clipId: string;
  readonly type: QuestionType;
  readonly question: string;
  readonly answer: string;
};

/** A rendered clip: the mp4, the JSON with its ground truth, and its four QA pairs. */
export type SyntheticClip = {
  readonly scene: SyntheticScene;
  readonly path: string;
  readonly truthPath: string;
  readonly questions: readonly QAPair[];
};

/** The first problem with a config, or undefined. */
export function syntheticProblem(c: SyntheticConfig): BadMediaConfig | undefined {
  if (!(c.chunks >= 2 && c.chunks <= PALETTE.length) || !Number.isInteger(c.chunks)) {
    return new BadMediaConfig({
      option: "chunks",
      reason: `must be an integer in [2, ${PALETTE.length}], got ${c.chunks}`,
    });
  }
  if (!Number.isInteger(c.frames) || c.frames % c.chunks !== 0 || c.frames <= 0) {
    return new BadMediaConfig({
      option: "frames",
      reason: `must be a positive multiple of chunks (${c.chunks}), got ${c.frames}`,
    });
  }
  if (c.height % 2 || c.width % 2 || c.height < 8 || c.width < 8) {
    return new BadMediaConfig({
      option: "height/width",
      reason: `must be even and >= 8 (yuv420p), got ${c.height}x${c.width}`,
    });
  }
  if (!(c.squareSize >= 2 && c.squareSize < Math.min(c.height, c.width))) {
    return new BadMediaConfig({
      option: "squareSize",
      reason: `must be in [2, ${Math.min(c.height, c.width)}), got ${c.squareSize}`,
    });
  }
  if (PITCHES.at(-1)!.hz >= c.sampleRate / 2) {
    return new BadMediaConfig({
      option: "sampleRate",
      reason: `must exceed ${2 * PITCHES.at(-1)!.hz} Hz, got ${c.sampleRate}`,
    });
  }
  return undefined;
}

/** Scene `index` of the set drawn from `seed`. Pure and deterministic. */
export function syntheticScene(
  seed: number,
  index: number,
  config: SyntheticConfig = SYNTHETIC_DEFAULTS,
): SyntheticScene {
  const rand = seededUniform(mix(seed, index));
  const T = config.chunks;
  const colours = shuffle(PALETTE.map((p) => p.name), rand).slice(0, T);
  // (d)'s answer is drawn first, half yes: a "yes" needs a chunk before the tone (tone in 1..T-1), a "no"
  // asks about the chunk during the tone (0..T-1). Then neither modality alone answers (d) above 62.5%
  // at T = 4 (video sees where the asked colour is, audio when the tone is), and the tone chunk stays
  // close to uniform (chunk 0: 1/8, others 7/24), so video alone gets (c) right at most 29%.
  const yes = rand() < 0.5;
  const toneChunk = yes ? 1 + Math.floor(rand() * (T - 1)) : Math.floor(rand() * T);
  const pitch = PITCHES[Math.floor(rand() * PITCHES.length)];
  const rangeX = config.width - config.squareSize, rangeY = config.height - config.squareSize;
  const speed = () => (1 + rand() * 2) * config.fps * (Math.min(rangeX, rangeY) / 22); // ~1-3 px/frame at 32x32
  return {
    id: `avqa_${seed}_${String(index).padStart(6, "0")}`,
    seed,
    index,
    colours,
    toneChunk,
    pitch: pitch.name,
    pitchHz: pitch.hz,
    turnQuestion: { colour: colours[yes ? toneChunk - 1 : toneChunk], answer: yes ? "yes" : "no" },
    motion: { phaseX: rand() * 2 * rangeX, phaseY: rand() * 2 * rangeY, speedX: speed(), speedY: speed() },
    noiseSeed: Math.floor(rand() * 2 ** 31),
  };
}

/** The four questions of a scene: (a) video only, (b) audio only, (c) both and time, (d) order. */
export function syntheticQuestions(scene: SyntheticScene): QAPair[] {
  const q = (type: QuestionType, question: string, answer: string): QAPair => ({
    clipId: scene.id,
    type,
    question,
    answer,
  });
  return [
    q("first_colour", "what colour was the square first?", scene.colours[0]),
    q("pitch", "which pitch was heard?", scene.pitch),
    q("colour_at_tone", "what colour was the square when the tone played?", scene.colours[scene.toneChunk]),
    q(
      "turned_before_tone",
      `did the square turn ${scene.turnQuestion.colour} before the tone?`,
      scene.turnQuestion.answer,
    ),
  ];
}

/** Every word the four question templates and their answers can use: the task's closed vocabulary. */
export function syntheticVocabulary(): string[] {
  const texts = [
    "what colour was the square first?",
    "which pitch was heard?",
    "what colour was the square when the tone played?",
    "did the square turn before the tone?",
    "yes",
    "no",
    ...PALETTE.map((c) => c.name),
    ...PITCHES.map((p) => p.name),
  ];
  return vocabularyOf(texts);
}

/**
 * ffmpeg arguments that render `scene` to `output` (mp4: h264 or mpeg4 video, aac audio), entirely from
 * lavfi sources: a dark background, the square as a concatenation of one solid colour per chunk overlaid
 * on a bouncing path, and a gated sine mixed with seeded white noise.
 */
export function renderArgs(
  scene: SyntheticScene,
  output: string,
  config: SyntheticConfig = SYNTHETIC_DEFAULTS,
): string[] {
  const { fps, chunks: T, squareSize: S, sampleRate: sr } = config;
  const K = config.frames / T, chunkS = K / fps, durationS = config.frames / fps;
  const hex = (name: ColourName) =>
    "0x" + PALETTE.find((p) => p.name === name)!.rgb.map((v) => v.toString(16).padStart(2, "0")).join("");
  const square = scene.colours.map((c, t) => `color=c=${hex(c)}:s=${S}x${S}:r=${fps}:d=${chunkS}[c${t}]`);
  const bounce = (phase: number, speed: number, range: number) =>
    `${range}-abs(${range}-mod(${phase.toFixed(3)}+${speed.toFixed(3)}*t\\,${2 * range}))`;
  const m = scene.motion;
  const [t0, t1] = [scene.toneChunk * chunkS, (scene.toneChunk + 1) * chunkS];
  const graph = [
    `color=c=0x141414:s=${config.width}x${config.height}:r=${fps}:d=${durationS}[bg]`,
    ...square,
    `${scene.colours.map((_, t) => `[c${t}]`).join("")}concat=n=${T}:v=1:a=0[sq]`,
    `[bg][sq]overlay=x='${bounce(m.phaseX, m.speedX, config.width - S)}':y='${
      bounce(m.phaseY, m.speedY, config.height - S)
    }'` +
    `:eval=frame:shortest=1,format=yuv420p[v]`,
    `aevalsrc='${config.toneAmplitude}*sin(2*PI*${scene.pitchHz}*t)*gte(t\\,${t0})*lt(t\\,${t1})':s=${sr}:d=${durationS}[tone]`,
    `anoisesrc=d=${durationS}:c=white:r=${sr}:a=${config.noiseAmplitude}:seed=${scene.noiseSeed}[noise]`,
    `[tone][noise]amix=inputs=2:normalize=0:duration=longest[a]`,
  ].join(";");
  const video = config.codec === "h264"
    ? ["-c:v", "libx264", "-preset", "veryfast", "-crf", "12"]
    : ["-c:v", "mpeg4", "-q:v", "2"];
  const audio = [["-c:a", "aac"], ["-b:a", "64k"], ["-ar", String(sr)], ["-ac", "1"]] as const;
  return [
    ...QUIET_ARGS,
    "-y",
    ...["-filter_complex", graph, "-map", "[v]", "-map", "[a]"],
    ...video,
    ...["-pix_fmt", "yuv420p", "-frames:v", String(config.frames)],
    ...audio.flat(),
    ...["-t", String(durationS), "-f", "mp4", output],
  ];
}

/**
 * Renders `scene` to `path`: ffmpeg writes a temporary file beside it, which is synced and renamed
 * once complete, so `path` is never a partial clip; on failure or interruption the temp is removed.
 */
export function renderScene(
  scene: SyntheticScene,
  path: string,
  config: SyntheticConfig = SYNTHETIC_DEFAULTS,
): Effect.Effect<void, RenderError, ChildProcessSpawner.ChildProcessSpawner> {
  return Effect.suspend(() => {
    const partial = tempPath(path);
    // progress on stdout, read by us: if this process dies (SIGKILL), ffmpeg's next progress write
    // fails and it stops, rather than finishing a temp file nobody will rename
    const args = ["-progress", "pipe:1", "-stats_period", "0.05", ...renderArgs(scene, partial, config)];
    return processStdout("ffmpeg", args, path).pipe(
      Stream.runDrain,
      Effect.mapError((e) => new RenderError({ file: path, reason: e.reason })),
      Effect.andThen(fsStep(path, () => commitFile(partial, path))),
      Effect.onExit((exit) =>
        exit._tag === "Success" ? Effect.void : Effect.promise(() => rm(partial, { force: true }))
      ),
    );
  });
}

/**
 * Renders clips `startIndex, startIndex + 1, ...` of the set drawn from `seed` into `dir`: `<id>.mp4`
 * and `<id>.json` (scene + questions) each. `count` clips, or an unbounded training stream when omitted.
 * `concurrency` renders run at once; the order of the stream is the order of the indices.
 *
 * Both files are written under temporary names and renamed (the JSON after the clip, so a truth file
 * always has its clip); when the JSON cannot be written the clip is removed too. Temporary files a
 * killed earlier run left in `dir` are removed first.
 */
export function synthetic(
  dir: string,
  options: Partial<SyntheticConfig> & {
    readonly seed: number;
    readonly count?: number;
    readonly startIndex?: number;
    readonly concurrency?: number;
  },
): Stream.Stream<SyntheticClip, RenderError | BadMediaConfig, ChildProcessSpawner.ChildProcessSpawner> {
  const config: SyntheticConfig = { ...SYNTHETIC_DEFAULTS, ...options };
  const bad = syntheticProblem(config);
  if (bad) return Stream.fail(bad);
  const start = options.startIndex ?? 0;
  const indices = options.count === undefined
    ? Stream.iterate(start, (i) => i + 1)
    : Stream.range(start, start + options.count - 1);
  const render = (index: number) =>
    Effect.gen(function* () {
      const scene = syntheticScene(options.seed, index, config);
      const path = join(dir, `${scene.id}.mp4`), truthPath = join(dir, `${scene.id}.json`);
      const questions = syntheticQuestions(scene);
      yield* renderScene(scene, path, config);
      const truth = JSON.stringify({ scene, questions, config, video: path }, null, 2);
      yield* fsStep(truthPath, () => writeFileAtomic(truthPath, truth)).pipe(
        Effect.tapError(() => Effect.promise(() => rm(path, { force: true }))),
      );
      return { scene, path, truthPath, questions };
    });
  const owns = (target: string) => /\.(mp4|json)$/.test(target);
  const prepare = fsStep(dir, async () => {
    await mkdir(dir, { recursive: true });
    await cleanStaleTemps(dir, owns);
  });
  return Stream.fromEffectDrain(prepare).pipe(
    Stream.concat(options.count === 0 ? Stream.empty : indices),
    Stream.mapEffect(render, { concurrency: options.concurrency ?? 1 }),
  );
}

function fsStep(file: string, f: () => Promise<unknown>): Effect.Effect<void, RenderError> {
  return Effect.tryPromise({
    try: f,
    catch: (e) => new RenderError({ file, reason: e instanceof Error ? e.message : String(e) }),
  }).pipe(Effect.asVoid);
}

/** splitmix32-style mixing of (seed, index) into one 32-bit state, so nearby seeds are unrelated. */
function mix(seed: number, index: number): number {
  let h = (Math.imul(seed | 0, 0x9e3779b1) ^ Math.imul(index | 0, 0x85ebca77)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x21f0aaad);
  h = Math.imul(h ^ (h >>> 15), 0x735a2d97);
  return (h ^ (h >>> 15)) >>> 0;
}

function shuffle<A>(items: readonly A[], rand: () => number): A[] {
  const out = [...items];
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rand() * (i + 1));
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}
