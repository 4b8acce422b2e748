/**
 * showSpectrogram: a (log-)mel spectrogram as an image, time across and mel bins up (low
 * frequencies at the bottom), with the same chunk boundaries as showFrames, so that the audio of
 * chunk t can be checked by eye against its frames.
 */
import { viridis } from "./colormap.ts";
import { type SvgFigure, svgFigure } from "./display.ts";
import { VizInputError } from "./errors.ts";
import {
  chunkStarts,
  chunkTicks,
  gridFromColors,
  type HeatmapLayout,
  heatmapRaster,
  heatmapSvg,
} from "./heatmap.ts";
import { type ArrayInput, minMax, readRank } from "./tensor_input.ts";
import { formatCompact as formatValue } from "./number_format.ts";

export type SpectrogramOptions = {
  /** Number of equal chunks along time; implied by a [T, F/T, melBins] input. */
  readonly chunks?: number;
  /** Values mapped to the ends of the colour map; the finite min and max when omitted. */
  readonly range?: readonly [number, number];
  readonly title?: string;
};

const WHAT = "show spectrogram";

/** Ticks at the first and last cell (one tick when there is one cell). */
function endTicks(length: number) {
  return [{ at: 0.5, label: "0" }, ...(length > 1 ? [{ at: length - 0.5, label: String(length - 1) }] : [])];
}

/** Shows `spec` ([F, melBins] or chunked [T, F/T, melBins]); `toFile` writes .svg or .png. */
export function showSpectrogram(spec: ArrayInput, opts: SpectrogramOptions = {}): SvgFigure {
  const { shape, values } = readRank(spec, [2, 3], "[F, melBins] or [T, F/T, melBins]", WHAT);
  const frames = shape.length === 3 ? shape[0] * shape[1] : shape[0];
  const mel = shape[shape.length - 1];
  const chunks = shape.length === 3 ? shape[0] : opts.chunks ?? 1;
  if (shape.length === 3 && opts.chunks !== undefined && opts.chunks !== shape[0]) {
    throw new VizInputError(
      WHAT,
      `chunks=${opts.chunks} disagrees with the input's ${shape[0]} chunks [${shape.join(", ")}]`,
    );
  }
  if (!Number.isInteger(chunks) || chunks < 1 || chunks > frames) {
    throw new VizInputError(WHAT, `expected chunks to be an integer in [1, ${frames}], got ${chunks}`);
  }
  const found = minMax(values);
  const [lo, hi] = opts.range ?? [found.min, found.max];
  if (!(Number.isFinite(lo) && Number.isFinite(hi))) {
    throw new VizInputError(WHAT, "expected at least one finite value, got none");
  }
  const span = hi > lo ? hi - lo : 1;
  const plotWidth = Math.min(720, Math.max(240, frames * 3)),
    plotHeight = Math.min(192, Math.max(96, mel * 2));
  const layout: HeatmapLayout = {
    label: opts.title ?? `spectrogram ${frames} frames x ${mel} mel bins`,
    title: opts.title,
    rowTitle: "mel bin",
    colTitle: chunks > 1
      ? `chunk (${frames} frames, ${formatValue(frames / chunks)} per chunk)`
      : `time (${frames} frames)`,
    cellWidth: plotWidth / frames,
    cellHeight: plotHeight / mel,
    rowBoundaries: [],
    colBoundaries: chunkStarts(frames, chunks),
    boundaryColor: "white",
    rowTicks: endTicks(mel).map((t) => ({ ...t, at: mel - t.at })), // bin 0 at the bottom
    colTicks: chunks > 1 ? chunkTicks(frames, chunks) : endTicks(frames),
    colAxis: "bottom",
    cells: "image",
    legend: { colorMap: viridis, low: formatValue(lo), high: formatValue(hi) },
  };
  // row r of the picture is mel bin (mel - 1 - r): low frequencies at the bottom
  const grid = gridFromColors(mel, frames, (r, f) => {
    const v = values[f * mel + (mel - 1 - r)];
    return viridis(Number.isFinite(v) ? (v - lo) / span : v > 0 ? 1 : 0);
  });
  const drawn = heatmapSvg(grid, layout);
  const summary = `spectrogram ${frames} frames x ${mel} mel bins in ${chunks} chunk(s), values in [${
    formatValue(found.min)
  }, ${formatValue(found.max)}]`;
  return svgFigure(drawn.svg, drawn, summary, () => heatmapRaster(grid, layout, [255, 255, 255]));
}
