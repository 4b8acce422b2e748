/**
 * showMask: an attention mask as a heatmap, query tokens down, key tokens across, with chunk
 * boundaries drawn, so that the block-causal pattern of the paper's Eq. 8 (a token of chunk t sees
 * chunks 1..t) reads as a staircase of full blocks.
 */
import { blues, type Rgb } from "./colormap.ts";
import { type SvgFigure, svgFigure } from "./display.ts";
import { VizInputError } from "./errors.ts";
import { gridFromColors, type HeatmapLayout, heatmapRaster, heatmapSvg, type Tick } from "./heatmap.ts";
import { type ArrayInput, readDense } from "./tensor_input.ts";

export type MaskOptions = {
  /** Number of equal chunks along each axis. */
  readonly chunks?: number;
  /** Tokens per chunk (the paper's N or M); boundaries every this many tokens. */
  readonly tokensPerChunk?: number;
  /**
   * "binary": 1/true attends, 0/false is blocked (values in between are weights).
   * "additive": 0 attends, -inf (or a large negative number) is blocked; shown as exp(value).
   * Detected from the values when omitted: any negative value means additive.
   */
  readonly kind?: "binary" | "additive";
  readonly title?: string;
};

const WHAT = "show mask";
const BOUNDARY = "#f16913";
const BOUNDARY_RGB: Rgb = [241, 105, 19];

/** [Tq, Tk], also with leading singleton batch/head axes ([1, 1, Tq, Tk]). */
function readMask(mask: ArrayInput): { rows: number; cols: number; values: Float64Array } {
  const { shape, values } = readDense(mask, WHAT);
  const lead = shape.slice(0, -2);
  if (shape.length < 2 || lead.some((d) => d !== 1) || shape.includes(0)) {
    throw new VizInputError(
      WHAT,
      `expected shape [Tq, Tk] (leading axes of size 1 allowed), got [${shape.join(", ")}]`,
    );
  }
  return { rows: shape[shape.length - 2], cols: shape[shape.length - 1], values };
}

/** Attention weight in [0, 1] that each entry allows. */
function weights(values: Float64Array, kind: MaskOptions["kind"]): Float64Array {
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (Number.isNaN(v)) throw new VizInputError(WHAT, "expected no NaN entries, got NaN");
    min = Math.min(min, v);
    max = Math.max(max, v);
  }
  const resolved = kind ?? (min < 0 ? "additive" : "binary");
  if (resolved === "binary" && (min < 0 || max > 1)) {
    throw new VizInputError(
      WHAT,
      `expected a binary mask with values in [0, 1], got values in [${min}, ${max}]`,
    );
  }
  if (resolved === "additive" && max > 0) {
    throw new VizInputError(
      WHAT,
      `expected an additive mask of 0 (attend) and negative values (blocked), got max ${max}`,
    );
  }
  return resolved === "binary" ? values : values.map((v) => Math.exp(v));
}

function chunkSize(length: number, opts: MaskOptions, axis: string): number | undefined {
  const { chunks, tokensPerChunk } = opts;
  for (const [name, v] of [["chunks", chunks], ["tokensPerChunk", tokensPerChunk]] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v < 1)) {
      throw new VizInputError(WHAT, `expected ${name} to be a positive integer, got ${v}`);
    }
  }
  if (chunks !== undefined) {
    if (length % chunks !== 0) {
      throw new VizInputError(WHAT, `cannot split ${length} ${axis} tokens into ${chunks} equal chunks`);
    }
    if (tokensPerChunk !== undefined && tokensPerChunk * chunks !== length) {
      throw new VizInputError(
        WHAT,
        `chunks=${chunks} x tokensPerChunk=${tokensPerChunk} = ${
          chunks * tokensPerChunk
        }, but the mask has ${length} ${axis} tokens`,
      );
    }
    return length / chunks;
  }
  return tokensPerChunk;
}

function axisMarks(length: number, size: number | undefined): { starts: number[]; ticks: Tick[] } {
  if (size === undefined) {
    const ends = length > 1 ? [{ at: length - 0.5, label: String(length - 1) }] : [];
    return { starts: [], ticks: [{ at: 0.5, label: "0" }, ...ends] };
  }
  const n = Math.ceil(length / size); // a last partial chunk is still a chunk
  const starts = Array.from({ length: n - 1 }, (_, k) => (k + 1) * size);
  const ticks = Array.from(
    { length: n },
    (_, k) => ({ at: (k * size + Math.min(length, (k + 1) * size)) / 2, label: String(k) }),
  );
  return { starts, ticks };
}

/**
 * Shows an attention mask (tf.Tensor2D, nested array, or {data, shape}). The SVG is `width` x
 * `height` px with cells of min(24, 480 / max(Tq, Tk)) px; `toFile` writes .svg or .png.
 */
export function showMask(mask: ArrayInput, opts: MaskOptions = {}): SvgFigure {
  const { rows, cols, values } = readMask(mask);
  const w = weights(values, opts.kind);
  const rowSize = chunkSize(rows, opts, "query"), colSize = chunkSize(cols, opts, "key");
  const rowMarks = axisMarks(rows, rowSize), colMarks = axisMarks(cols, colSize);
  const cell = Math.min(24, 480 / Math.max(rows, cols));
  const chunked = rowSize !== undefined;
  const layout: HeatmapLayout = {
    label: opts.title ?? `attention mask ${rows}x${cols}`,
    title: opts.title,
    rowTitle: chunked ? "query chunk" : "query token",
    colTitle: chunked ? "key chunk" : "key token",
    cellWidth: cell,
    cellHeight: cell,
    rowBoundaries: rowMarks.starts,
    colBoundaries: colMarks.starts,
    boundaryColor: BOUNDARY,
    rowTicks: rowMarks.ticks,
    colTicks: colMarks.ticks,
    colAxis: "top",
  };
  const grid = gridFromColors(rows, cols, (r, c) => blues(w[r * cols + c]));
  const drawn = heatmapSvg(grid, layout);
  const open = w.reduce((n, v) => n + (v > 0 ? 1 : 0), 0);
  const chunkNote = chunked ? ` (${Math.ceil(rows / rowSize)} chunks of ${rowSize} tokens)` : "";
  const summary = `attention mask ${rows}x${cols}${chunkNote}: ${open} of ${rows * cols} entries attend (${
    Math.round((100 * open) / (rows * cols))
  }%)`;
  return svgFigure(drawn.svg, drawn, summary, () => heatmapRaster(grid, layout, BOUNDARY_RGB));
}
