/**
 * showFrames: a video clip as a strip of frames grouped by chunk (the paper's T chunks of K frames),
 * each group labelled with its chunk index, wrapping onto further rows for long clips. Each frame is
 * embedded as its own PNG at native resolution and scaled up without smoothing.
 */
import { type SvgFigure, svgFigure } from "./display.ts";
import { VizInputError } from "./errors.ts";
import { pngDataUri, type Raster } from "./png.ts";
import { el, embeddedImage, svgDocument, text } from "./svg.ts";
import { type ArrayInput, readRank } from "./tensor_input.ts";

export type FramesOptions = {
  /** Number of equal chunks; implied by a [T, K, H, W, C] input. */
  readonly chunks?: number;
  /** Displayed frame height in px (default 64). */
  readonly height?: number;
  /** Pixel values mapped to black and white (default [0, 1]); values outside are clipped. */
  readonly range?: readonly [number, number];
  readonly title?: string;
};

const WHAT = "show frames";
const FRAME_GAP = 2, CHUNK_GAP = 14, MARGIN = 8, LABEL_HEIGHT = 16, INDEX_HEIGHT = 13, MAX_WIDTH = 960;

type Clip = { frames: number; h: number; w: number; c: 1 | 3; chunks: number; values: Float64Array };

function readClip(video: ArrayInput, opts: FramesOptions): Clip {
  const { shape, values } = readRank(video, [4, 5], "[N, H, W, C] or [T, K, H, W, C] with C = 1 or 3", WHAT);
  const [h, w, c] = shape.slice(-3);
  if (c !== 1 && c !== 3) {
    throw new VizInputError(WHAT, `expected 1 or 3 channels last, got shape [${shape.join(", ")}]`);
  }
  const frames = shape.length === 5 ? shape[0] * shape[1] : shape[0];
  if (shape.length === 5 && opts.chunks !== undefined && opts.chunks !== shape[0]) {
    throw new VizInputError(
      WHAT,
      `chunks=${opts.chunks} disagrees with the input's ${shape[0]} chunks [${shape.join(", ")}]`,
    );
  }
  const chunks = shape.length === 5 ? shape[0] : opts.chunks ?? 1;
  if (!Number.isInteger(chunks) || chunks < 1 || frames % chunks !== 0) {
    throw new VizInputError(WHAT, `cannot split ${frames} frames into ${chunks} equal chunks`);
  }
  return { frames, h, w, c, chunks, values };
}

function frameRaster(clip: Clip, index: number, range: readonly [number, number]): Raster {
  const [lo, hi] = range;
  const n = clip.h * clip.w;
  const pixels = new Uint8Array(n * 3);
  const base = index * n * clip.c;
  for (let p = 0; p < n; p++) {
    for (let k = 0; k < 3; k++) {
      const v = clip.values[base + p * clip.c + (clip.c === 3 ? k : 0)];
      const t = Number.isNaN(v) ? 0 : (v - lo) / (hi - lo);
      pixels[p * 3 + k] = Math.round(255 * Math.min(1, Math.max(0, t)));
    }
  }
  return { width: clip.w, height: clip.h, channels: 3, pixels };
}

/** Where chunk t's group sits, in units where one frame is `fw` x `fh`. */
function groupGrid(clip: Clip, fw: number) {
  const perChunk = clip.frames / clip.chunks;
  const groupWidth = perChunk * fw + (perChunk - 1) * FRAME_GAP;
  const perRow = Math.max(1, Math.floor((MAX_WIDTH - 2 * MARGIN + CHUNK_GAP) / (groupWidth + CHUNK_GAP)));
  return { perChunk, groupWidth, perRow, rows: Math.ceil(clip.chunks / perRow) };
}

/**
 * Shows `video` (values in [0, 1] by default), N frames split into `chunks` equal chunks.
 * `toFile` writes .svg, or .png (the frames at native resolution, grouped the same way, no labels).
 */
export function showFrames(video: ArrayInput, opts: FramesOptions = {}): SvgFigure {
  const clip = readClip(video, opts);
  const range = opts.range ?? [0, 1];
  if (!(range[1] > range[0])) {
    throw new VizInputError(WHAT, `expected range [lo, hi] with lo < hi, got [${range.join(", ")}]`);
  }
  const fh = opts.height ?? 64, fw = (clip.w * fh) / clip.h;
  const g = groupGrid(clip, fw);
  const top = MARGIN + (opts.title ? 20 : 0);
  const rowHeight = LABEL_HEIGHT + fh + INDEX_HEIGHT + 8;
  const stripWidth = 2 * MARGIN + Math.min(g.perRow, clip.chunks) * (g.groupWidth + CHUNK_GAP) - CHUNK_GAP;
  const width = Math.max(stripWidth, opts.title ? 2 * MARGIN + opts.title.length * 8 : 0);
  const height = top + g.rows * rowHeight + MARGIN;
  const body: string[] = opts.title
    ? [text(MARGIN, MARGIN + 12, opts.title, { style: "font-size:13px;font-weight:600" })]
    : [];
  for (let t = 0; t < clip.chunks; t++) {
    const gx = MARGIN + (t % g.perRow) * (g.groupWidth + CHUNK_GAP),
      gy = top + Math.floor(t / g.perRow) * rowHeight;
    const parts = [
      el("rect", {
        x: gx - 3,
        y: gy,
        width: g.groupWidth + 6,
        height: rowHeight - 6,
        fill: "#f1f3f6",
        rx: 3,
      }),
      text(gx, gy + 12, `chunk ${t}`, { class: "chunk-label" }),
    ];
    for (let k = 0; k < g.perChunk; k++) {
      const i = t * g.perChunk + k, x = gx + k * (fw + FRAME_GAP);
      parts.push(embeddedImage(pngDataUri(frameRaster(clip, i, range)), x, gy + LABEL_HEIGHT, fw, fh, {
        class: "frame",
        "data-frame": i,
      }));
      if (fw >= 14) {
        parts.push(text(x + fw / 2, gy + LABEL_HEIGHT + fh + 10, String(i), {
          class: "frame-index",
          "text-anchor": "middle",
          style: "font-size:9px;fill:#666",
        }));
      }
    }
    body.push(el("g", { class: "chunk-group", "data-chunk": t }, parts));
  }
  const summary =
    `video ${clip.frames} frames of ${clip.h}x${clip.w} in ${clip.chunks} chunk(s) of ${g.perChunk}`;
  const svg = svgDocument(width, height, body, opts.title ?? summary);
  return svgFigure(
    svg,
    { width: Math.ceil(width), height: Math.ceil(height) },
    summary,
    () => stripRaster(clip, range, g.perRow),
  );
}

/** All frames at native resolution, `perRow` chunk groups per row as in the SVG, on white. */
function stripRaster(clip: Clip, range: readonly [number, number], perRow: number): Raster {
  const gap = 8;
  const perChunk = clip.frames / clip.chunks;
  const groupWidth = perChunk * clip.w + (perChunk - 1) * FRAME_GAP;
  const rows = Math.ceil(clip.chunks / perRow), cols = Math.min(perRow, clip.chunks);
  const width = cols * (groupWidth + gap) - gap, height = rows * (clip.h + gap) - gap;
  const pixels = new Uint8Array(width * height * 3).fill(255);
  for (let i = 0; i < clip.frames; i++) {
    const t = Math.floor(i / perChunk), k = i % perChunk;
    const x0 = (t % perRow) * (groupWidth + gap) + k * (clip.w + FRAME_GAP);
    const y0 = Math.floor(t / perRow) * (clip.h + gap);
    const frame = frameRaster(clip, i, range);
    for (let y = 0; y < clip.h; y++) {
      pixels.set(frame.pixels.subarray(y * clip.w * 3, (y + 1) * clip.w * 3), ((y0 + y) * width + x0) * 3);
    }
  }
  return { width, height, channels: 3, pixels };
}
