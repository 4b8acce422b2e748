/**
 * showInfluence: the chunk-to-chunk influence matrix of the causality check. Entry [t][t'] is how
 * much the output for chunk t moved when the input of chunk t' was perturbed; for a causal model it
 * is zero above the diagonal (t' > t). Exact zeros are white and printed "0"; every non-zero value
 * gets at least a visible tint and its value, and a non-zero above the diagonal is outlined in red,
 * so a leak of 1e-7 cannot hide in a pale cell.
 */
import { blues } from "./colormap.ts";
import { type SvgFigure, svgFigure } from "./display.ts";
import { gridFromColors, type HeatmapLayout, heatmapRaster, heatmapSvg } from "./heatmap.ts";
import { type ArrayInput, readRank } from "./tensor_input.ts";
import { VizInputError } from "./errors.ts";
import { formatCompact } from "./number_format.ts";

export type InfluenceOptions = {
  /** Axis title for rows (the output chunk t). */
  readonly rowLabel?: string;
  /** Axis title for columns (the perturbed input chunk t'). */
  readonly colLabel?: string;
  readonly title?: string;
};

const WHAT = "show influence";
const MIN_TINT = 0.15; // the lightest colour a non-zero value may get

/** Shows `grid` ([T, T'], nested array or tensor) with its values in the cells. */
export function showInfluence(grid: ArrayInput, opts: InfluenceOptions = {}): SvgFigure {
  const { shape, values } = readRank(grid, [2], "[T, T]", WHAT);
  const [rows, cols] = shape;
  if (values.some(Number.isNaN)) throw new VizInputError(WHAT, "expected no NaN entries, got NaN");
  const peak = values.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  const shade = (v: number) => (v === 0 ? 0 : MIN_TINT + (1 - MIN_TINT) * Math.min(1, Math.abs(v) / peak));
  const leaks: [number, number][] = [];
  for (let r = 0; r < rows; r++) {
    for (let c = r + 1; c < cols; c++) if (values[r * cols + c] !== 0) leaks.push([r, c]);
  }
  const cell = Math.min(44, 480 / Math.max(rows, cols));
  const ticks = (n: number) => Array.from({ length: n }, (_, i) => ({ at: i + 0.5, label: String(i) }));
  const layout: HeatmapLayout = {
    label: opts.title ?? `chunk influence ${rows}x${cols}`,
    title: opts.title,
    rowTitle: opts.rowLabel ?? "output chunk t",
    colTitle: opts.colLabel ?? "perturbed chunk t′",
    cellWidth: cell,
    cellHeight: cell,
    rowBoundaries: [],
    colBoundaries: [],
    boundaryColor: "#999",
    rowTicks: ticks(rows),
    colTicks: ticks(cols),
    colAxis: "top",
    cellText: (r, c) => formatCompact(values[r * cols + c]),
    flagged: (r, c) => c > r && values[r * cols + c] !== 0,
    legend: { colorMap: blues, low: "0", high: formatCompact(peak) },
    diagonal: true,
  };
  const colors = gridFromColors(rows, cols, (r, c) => blues(shade(values[r * cols + c])));
  const drawn = heatmapSvg(colors, layout);
  const verdict = leaks.length === 0
    ? "zero above the diagonal"
    : `${leaks.length} non-zero entries above the diagonal, first at [${leaks[0].join(", ")}]`;
  return svgFigure(
    drawn.svg,
    drawn,
    `chunk influence ${rows}x${cols}, max ${formatCompact(peak)}: ${verdict}`,
    () => heatmapRaster(colors, layout, [153, 153, 153]),
  );
}
