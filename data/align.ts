/**
 * Time alignment of video chunks and spectrogram chunks. Chunk t holds frames [tK, (t+1)K), i.e. the
 * time span [tK / fps, (t+1)K / fps); its spectrogram columns are those whose start time (j / cps, with
 * cps = sampleRate / hop columns per second) falls in the same span, with chunk borders rounded to the
 * nearest column. So each chunk's audio span is its video span to within half a hop, and when
 * r = cps / fps is an integer (100 / 25 = 4) the two agree exactly and the clip has exactly N * r columns.
 *
 * Letters: N frames, T chunks, K = N / T frames per chunk, F columns, Mb mel bins, r columns per frame.
 */
import { BadMediaConfig } from "./errors.ts";

export type AlignOptions = {
  /** N, frames in the clip */
  readonly frames: number;
  /** T, chunks the clip is cut into; must divide N */
  readonly chunks: number;
  /** frames per second the N frames were sampled at */
  readonly fps: number;
  /** spectrogram columns per second, sampleRate / hop (100 by default) */
  readonly columnsPerSecond: number;
};

export type ChunkSpan = {
  readonly chunk: number;
  readonly firstFrame: number;
  readonly frameCount: number;
  readonly videoStartS: number;
  readonly videoEndS: number;
  readonly firstColumn: number;
  readonly columnCount: number;
  readonly audioStartS: number;
  readonly audioEndS: number;
};

export type ChunkAlignment = {
  readonly chunks: readonly ChunkSpan[];
  /** K */
  readonly framesPerChunk: number;
  /** F, columns of the whole clip: round(N * r) */
  readonly columns: number;
  /** r = columnsPerSecond / fps; not always an integer */
  readonly columnsPerFrame: number;
};

/** The span of every video chunk and spectrogram chunk. Throws BadMediaConfig for impossible options. */
export function chunkAlign(o: AlignOptions): ChunkAlignment {
  const bad = alignProblem(o);
  if (bad) throw bad;
  const K = o.frames / o.chunks, r = o.columnsPerSecond / o.fps;
  // Borders in columns: the column nearest the video border. Exact when r * K is an integer.
  const border = (t: number) => Math.round(t * K * r + 1e-9);
  const chunks = Array.from({ length: o.chunks }, (_, t): ChunkSpan => {
    const c0 = border(t), c1 = border(t + 1);
    return {
      chunk: t,
      firstFrame: t * K,
      frameCount: K,
      videoStartS: (t * K) / o.fps,
      videoEndS: ((t + 1) * K) / o.fps,
      firstColumn: c0,
      columnCount: c1 - c0,
      audioStartS: c0 / o.columnsPerSecond,
      audioEndS: c1 / o.columnsPerSecond,
    };
  });
  return { chunks, framesPerChunk: K, columns: border(o.chunks), columnsPerFrame: r };
}

/** The first problem with `o`, or undefined. */
export function alignProblem(o: AlignOptions): BadMediaConfig | undefined {
  if (!Number.isInteger(o.frames) || o.frames <= 0) {
    return new BadMediaConfig({ option: "frames", reason: `must be a positive integer, got ${o.frames}` });
  }
  if (!Number.isInteger(o.chunks) || o.chunks <= 0 || o.frames % o.chunks !== 0) {
    return new BadMediaConfig({
      option: "chunks",
      reason: `must be a positive divisor of frames (${o.frames}), got ${o.chunks}`,
    });
  }
  if (!(o.fps > 0) || !Number.isFinite(o.fps)) {
    return new BadMediaConfig({ option: "fps", reason: `must be > 0, got ${o.fps}` });
  }
  if (!(o.columnsPerSecond > 0) || !Number.isFinite(o.columnsPerSecond)) {
    return new BadMediaConfig({
      option: "columnsPerSecond",
      reason: `must be > 0, got ${o.columnsPerSecond}`,
    });
  }
  return undefined;
}

/**
 * Integer columns per frame for a clip at `fps`, or a BadMediaConfig saying why a `Clip` (whose F is
 * N * r) cannot have one: e.g. 30 fps with hop 160 at 16 kHz gives r = 3.33.
 */
export function integerColumnsPerFrame(
  fps: number,
  sampleRate: number,
  hop: number,
): number | BadMediaConfig {
  const r = sampleRate / (hop * fps);
  const rounded = Math.round(r);
  if (rounded >= 1 && Math.abs(r - rounded) < 1e-9) return rounded;
  return new BadMediaConfig({
    option: "fps",
    reason:
      `sampleRate / (hop * fps) = ${sampleRate} / (${hop} * ${fps}) = ${r.toFixed(4)} columns per frame ` +
      `is not a whole number; choose fps dividing ${sampleRate / hop} or another hop`,
  });
}

/**
 * Resamples the time axis of a spectrogram: source [Fs, Mb] with column j starting at j / srcCps
 * seconds, to `columns` columns evenly covering [startS, startS + spanS). Output column k is the mean of
 * the source columns starting inside its span, or the nearest one when none does (upsampling).
 * Used when N frames are spread uniformly over a clip, so frame i and its r columns cover the same span.
 */
export function resampleColumns(
  source: Float32Array,
  melBins: number,
  srcCps: number,
  startS: number,
  spanS: number,
  columns: number,
): Float32Array {
  const Fs = source.length / melBins;
  const out = new Float32Array(columns * melBins); // [F, Mb]
  if (Fs === 0) return out;
  for (let k = 0; k < columns; k++) {
    const a = (startS + (k * spanS) / columns) * srcCps, b = (startS + ((k + 1) * spanS) / columns) * srcCps;
    let j0 = Math.ceil(a - 1e-9), j1 = Math.ceil(b - 1e-9);
    if (j1 <= j0) j1 = (j0 = Math.round(a)) + 1;
    j0 = Math.min(Math.max(j0, 0), Fs - 1);
    j1 = Math.min(Math.max(j1, j0 + 1), Fs);
    for (let j = j0; j < j1; j++) {
      for (let m = 0; m < melBins; m++) out[k * melBins + m] += source[j * melBins + m] / (j1 - j0);
    }
  }
  return out;
}
