/**
 * The grid figure behind showMask, showSpectrogram and showInfluence: coloured cells, chunk
 * boundaries as lines, ticks and axis titles, optional per-cell values and a colour bar. Small grids
 * are drawn as <rect>s (runs of equal colour merged per row); large ones as one embedded PNG with one
 * pixel per cell, so a 2048 x 2048 mask stays a few kilobytes. Geometry is exposed so tests can parse
 * the SVG back: the plot area is `rect.plot-frame`, boundaries are `line.chunk-boundary[data-axis]`.
 */
import { type ColorMap, hex, type Rgb, textColorOn } from "./colormap.ts";
import { pngDataUri, type Raster } from "./png.ts";
import { el, embeddedImage, num, svgDocument, text } from "./svg.ts";

/** A position along an axis in cells (fractional allowed) and its label. */
export type Tick = { readonly at: number; readonly label: string };

export type Grid = {
  readonly rows: number;
  readonly cols: number;
  readonly colors: Uint8Array; // [rows, cols, 3]
};

export type HeatmapLayout = {
  /** Text for the SVG <title> and the figure's summary. */
  readonly label: string;
  readonly title?: string;
  readonly rowTitle: string;
  readonly colTitle: string;
  readonly cellWidth: number; // px
  readonly cellHeight: number; // px
  /** Cell offsets where a new chunk starts, 0 < b < rows (or cols). */
  readonly rowBoundaries: readonly number[];
  readonly colBoundaries: readonly number[];
  readonly boundaryColor: string;
  readonly rowTicks: readonly Tick[];
  readonly colTicks: readonly Tick[];
  readonly colAxis: "top" | "bottom";
  readonly cellText?: (row: number, col: number) => string | undefined;
  /** Cells outlined in red: something the reader must notice (a causality leak). */
  readonly flagged?: (row: number, col: number) => boolean;
  readonly legend?: { readonly colorMap: ColorMap; readonly low: string; readonly high: string };
  readonly diagonal?: boolean;
  /** "image" always embeds a PNG (dense data such as spectrograms); "auto" uses rects for small grids. */
  readonly cells?: "auto" | "image";
};

export type PlotArea = {
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
};

/** Grids up to this many cells are drawn as rects; larger ones as an embedded PNG. */
export const RECT_CELL_LIMIT = 64 * 64;

const TICK_CHAR_WIDTH = 6.5; // px per character at 11px, generous
const LEGEND_WIDTH = 12;
const TITLE_CHAR_WIDTH = 8; // px per character at 13px bold, generous

export function gridFromColors(rows: number, cols: number, color: (r: number, c: number) => Rgb): Grid {
  const colors = new Uint8Array(rows * cols * 3);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) colors.set(color(r, c), (r * cols + c) * 3);
  }
  return { rows, cols, colors };
}

function cellRgb(g: Grid, r: number, c: number): Rgb {
  const i = (r * g.cols + c) * 3;
  return [g.colors[i], g.colors[i + 1], g.colors[i + 2]];
}

function plotArea(g: Grid, l: HeatmapLayout): PlotArea {
  const longestRowTick = Math.max(0, ...l.rowTicks.map((t) => t.label.length));
  const x = 18 + longestRowTick * TICK_CHAR_WIDTH + 6;
  const y = (l.title ? 20 : 4) + (l.colAxis === "top" ? 30 : 0);
  return { x, y, width: g.cols * l.cellWidth, height: g.rows * l.cellHeight };
}

function cellsAsRects(g: Grid, p: PlotArea, l: HeatmapLayout): string[] {
  const out: string[] = [];
  for (let r = 0; r < g.rows; r++) {
    let start = 0;
    for (let c = 1; c <= g.cols; c++) {
      const runEnds = c === g.cols || hex(cellRgb(g, r, c)) !== hex(cellRgb(g, r, start));
      if (!runEnds) continue;
      const fill = hex(cellRgb(g, r, start));
      if (fill !== "#ffffff") {
        out.push(el("rect", {
          x: p.x + start * l.cellWidth,
          y: p.y + r * l.cellHeight,
          width: (c - start) * l.cellWidth,
          height: l.cellHeight,
          fill,
        }));
      }
      start = c;
    }
  }
  return out;
}

function cellsAsImage(g: Grid, p: PlotArea): string {
  const raster: Raster = { width: g.cols, height: g.rows, channels: 3, pixels: g.colors };
  return embeddedImage(pngDataUri(raster), p.x, p.y, p.width, p.height, { class: "cells" });
}

function cellAnnotations(g: Grid, p: PlotArea, l: HeatmapLayout): string[] {
  const out: string[] = [];
  const fontSize = Math.min(11, l.cellHeight * 0.42, l.cellWidth * 0.3);
  for (let r = 0; r < g.rows; r++) {
    for (let c = 0; c < g.cols; c++) {
      const cx = p.x + (c + 0.5) * l.cellWidth, cy = p.y + (r + 0.5) * l.cellHeight;
      const label = l.cellText?.(r, c);
      if (label !== undefined && fontSize >= 6) {
        out.push(text(cx, cy, label, {
          class: "cell-value",
          "text-anchor": "middle",
          "dominant-baseline": "central",
          fill: textColorOn(cellRgb(g, r, c)),
          style: `font-size:${num(fontSize)}px`,
        }));
      }
      if (l.flagged?.(r, c)) {
        out.push(el("rect", {
          class: "flagged",
          x: p.x + c * l.cellWidth + 1,
          y: p.y + r * l.cellHeight + 1,
          width: l.cellWidth - 2,
          height: l.cellHeight - 2,
          fill: "none",
          stroke: "#d62728",
          "stroke-width": 2,
        }));
      }
    }
  }
  return out;
}

function boundaries(p: PlotArea, l: HeatmapLayout): string[] {
  const line = (axis: "row" | "col", x1: number, y1: number, x2: number, y2: number) =>
    el("line", {
      class: "chunk-boundary",
      "data-axis": axis,
      x1,
      y1,
      x2,
      y2,
      stroke: l.boundaryColor,
      "stroke-width": 1.5,
    });
  return [
    ...l.colBoundaries.map((b) =>
      line("col", p.x + b * l.cellWidth, p.y, p.x + b * l.cellWidth, p.y + p.height)
    ),
    ...l.rowBoundaries.map((b) =>
      line("row", p.x, p.y + b * l.cellHeight, p.x + p.width, p.y + b * l.cellHeight)
    ),
  ];
}

function axes(p: PlotArea, l: HeatmapLayout): string[] {
  const out: string[] = [];
  const top = l.colAxis === "top";
  const tickY = top ? p.y - 5 : p.y + p.height + 13;
  for (const t of l.colTicks) {
    out.push(text(p.x + t.at * l.cellWidth, tickY, t.label, { class: "col-tick", "text-anchor": "middle" }));
  }
  for (const t of l.rowTicks) {
    out.push(text(p.x - 5, p.y + t.at * l.cellHeight, t.label, {
      class: "row-tick",
      "text-anchor": "end",
      "dominant-baseline": "central",
    }));
  }
  const colTitleY = top ? p.y - 20 : p.y + p.height + 28;
  out.push(text(p.x + p.width / 2, colTitleY, l.colTitle, { class: "axis-title", "text-anchor": "middle" }));
  out.push(text(0, 0, l.rowTitle, {
    class: "axis-title",
    "text-anchor": "middle",
    transform: `translate(11 ${num(p.y + p.height / 2)}) rotate(-90)`,
  }));
  if (l.title) out.push(text(p.x, 14, l.title, { class: "title", style: "font-size:13px;font-weight:600" }));
  return out;
}

function legend(p: PlotArea, l: HeatmapLayout): string[] {
  if (!l.legend) return [];
  const steps = 64;
  const pixels = new Uint8Array(steps * 3);
  for (let i = 0; i < steps; i++) pixels.set(l.legend.colorMap(1 - i / (steps - 1)), i * 3); // high at the top
  const x = p.x + p.width + 14;
  return [
    embeddedImage(
      pngDataUri({ width: 1, height: steps, channels: 3, pixels }),
      x,
      p.y,
      LEGEND_WIDTH,
      p.height,
      {
        class: "legend",
      },
    ),
    el("rect", { x, y: p.y, width: LEGEND_WIDTH, height: p.height, fill: "none", stroke: "#888" }),
    text(x + LEGEND_WIDTH + 4, p.y + 8, l.legend.high, { class: "legend-high" }),
    text(x + LEGEND_WIDTH + 4, p.y + p.height, l.legend.low, { class: "legend-low" }),
  ];
}

export type HeatmapSvg = {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  readonly plot: PlotArea;
};

export function heatmapSvg(g: Grid, l: HeatmapLayout): HeatmapSvg {
  const p = plotArea(g, l);
  const legendLabel = l.legend ? Math.max(l.legend.low.length, l.legend.high.length) : 0;
  const plotRight = p.x + p.width + (l.legend ? 14 + LEGEND_WIDTH + 6 + legendLabel * TICK_CHAR_WIDTH : 0) +
    8;
  const width = Math.max(plotRight, l.title ? p.x + l.title.length * TITLE_CHAR_WIDTH + 8 : 0);
  const height = p.y + p.height + (l.colAxis === "bottom" ? 36 : 8);
  const body = [
    el("rect", { x: p.x, y: p.y, width: p.width, height: p.height, fill: "white" }),
    ...(l.cells !== "image" && g.rows * g.cols <= RECT_CELL_LIMIT
      ? [el("g", { class: "cells" }, cellsAsRects(g, p, l))]
      : [cellsAsImage(g, p)]),
    ...(l.diagonal
      ? [el("line", {
        class: "diagonal",
        x1: p.x,
        y1: p.y,
        x2: p.x + Math.min(g.rows, g.cols) * l.cellWidth,
        y2: p.y + Math.min(g.rows, g.cols) * l.cellHeight,
        stroke: "#999",
        "stroke-dasharray": "4 3",
      })]
      : []),
    ...cellAnnotations(g, p, l),
    ...boundaries(p, l),
    el("rect", {
      class: "plot-frame",
      x: p.x,
      y: p.y,
      width: p.width,
      height: p.height,
      fill: "none",
      stroke: "#444",
    }),
    ...axes(p, l),
    ...legend(p, l),
  ];
  return {
    svg: svgDocument(width, height, body, l.label),
    width: Math.ceil(width),
    height: Math.ceil(height),
    plot: p,
  };
}

/**
 * The figure as pixels for `toFile("x.png")`: each cell a block of about its display size, chunk
 * boundaries as 1-px lines in `lineRgb`. No text: the SVG is the annotated form.
 */
export function heatmapRaster(g: Grid, l: HeatmapLayout, lineRgb: Rgb): Raster {
  const cw = Math.max(1, Math.round(l.cellWidth)), ch = Math.max(1, Math.round(l.cellHeight));
  const width = g.cols * cw, height = g.rows * ch;
  const pixels = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      pixels.set(cellRgb(g, Math.floor(y / ch), Math.floor(x / cw)), (y * width + x) * 3);
    }
  }
  for (const b of l.colBoundaries) {
    const x = Math.min(width - 1, Math.round(b * cw));
    for (let y = 0; y < height; y++) pixels.set(lineRgb, (y * width + x) * 3);
  }
  for (const b of l.rowBoundaries) {
    const y = Math.min(height - 1, Math.round(b * ch));
    for (let x = 0; x < width; x++) pixels.set(lineRgb, (y * width + x) * 3);
  }
  return { width, height, channels: 3, pixels };
}

/** Chunk starts (in cells) for `chunks` equal chunks over `length` cells, without 0 and `length`. */
export function chunkStarts(length: number, chunks: number): number[] {
  return Array.from({ length: chunks - 1 }, (_, i) => ((i + 1) * length) / chunks);
}

/** One tick per chunk at its centre, labelled with the chunk index. */
export function chunkTicks(length: number, chunks: number): Tick[] {
  return Array.from({ length: chunks }, (_, t) => ({ at: ((t + 0.5) * length) / chunks, label: String(t) }));
}
