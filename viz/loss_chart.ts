/**
 * lossChart: each loss term over training steps as a Vega-Lite v5 spec (one panel per term, each
 * with its own y scale, so a small auxiliary loss is not flattened by the total). The Deno kernel
 * renders the spec; the bundle also carries a static SVG rendered by Vega itself, so notebooks read
 * on code hosts that do not run Vega-Lite. Vega is imported only when an SVG is asked for.
 *
 * A live chart during training redraws one output in place:
 *   await Deno.jupyter.display(lossChart(rows), { display_id: "loss", update: step > 0 });
 */
import {
  type Displayable,
  extensionOf,
  JUPYTER_DISPLAY,
  type MimeBundle,
  pictureBundle,
  unsupportedExtension,
} from "./display.ts";
import { VizInputError } from "./errors.ts";

/** A metrics.jsonl row: `step` plus numeric terms; other fields are ignored. */
export type MetricsRow = Readonly<Record<string, unknown>>;

export type LossChartOptions = {
  /** Fields to plot; default: every numeric field whose name contains "loss", else every numeric field but `step`. */
  readonly terms?: readonly string[];
  readonly title?: string;
  /** Log-scaled y axes (non-positive values are then dropped). */
  readonly log?: boolean;
};

/** A Vega-Lite v5 specification (JSON). */
export type VegaLiteSpec = Readonly<Record<string, unknown>>;

export type LossPoint = { readonly step: number; readonly term: string; readonly value: number };

export type LossChart = Displayable & {
  readonly spec: VegaLiteSpec;
  readonly points: readonly LossPoint[];
  readonly terms: readonly string[];
  readonly summary: string;
  /** The chart as SVG, rendered headless by Vega. */
  toSvg(): Promise<string>;
};

export const VEGA_LITE_MIME = "application/vnd.vegalite.v5+json";
const WHAT = "draw loss chart";

function parseRows(metrics: readonly MetricsRow[] | string): MetricsRow[] {
  if (typeof metrics !== "string") return [...metrics];
  return metrics.split("\n").filter((l) => l.trim() !== "").map((line, i) => {
    try {
      return JSON.parse(line) as MetricsRow;
    } catch (e) {
      throw new VizInputError(
        WHAT,
        `line ${i + 1} of the metrics is not JSON (${(e as Error).message}): ${line.slice(0, 80)}`,
      );
    }
  });
}

function defaultTerms(rows: readonly MetricsRow[]): string[] {
  const numeric: string[] = [];
  for (const row of rows) {
    for (const [k, v] of Object.entries(row)) {
      if (typeof v === "number" && k !== "step" && !numeric.includes(k)) numeric.push(k);
    }
  }
  const losses = numeric.filter((k) => k.toLowerCase().includes("loss"));
  return losses.length > 0 ? losses : numeric;
}

/** Long-form points; rows without a numeric `step` count by their position. */
export function lossPoints(rows: readonly MetricsRow[], terms: readonly string[], log = false): LossPoint[] {
  return rows.flatMap((row, i) => {
    const step = typeof row.step === "number" ? row.step : i;
    return terms.flatMap((term) => {
      const value = row[term];
      const usable = typeof value === "number" && Number.isFinite(value) && (!log || value > 0);
      return usable ? [{ step, term, value }] : [];
    });
  });
}

function panel(log: boolean, points: number, yTitle: string | null) {
  return {
    width: 480,
    height: 140,
    mark: { type: "line", tooltip: true, point: points <= 60 },
    encoding: {
      x: { field: "step", type: "quantitative", title: "step" },
      y: {
        field: "value",
        type: "quantitative",
        title: yTitle,
        scale: { type: log ? "log" : "linear", zero: false },
      },
      color: { field: "term", type: "nominal", legend: null },
    },
  };
}

/** The Vega-Lite spec for `points` of `terms`: a single chart for one term, else one row per term. */
export function lossChartSpec(
  points: readonly LossPoint[],
  terms: readonly string[],
  opts: LossChartOptions = {},
): VegaLiteSpec {
  const log = opts.log ?? false;
  const head = {
    $schema: "https://vega.github.io/schema/vega-lite/v5.json",
    ...(opts.title ? { title: opts.title } : {}),
    data: { values: points },
  };
  const perTerm = Math.max(...terms.map((t) => points.filter((p) => p.term === t).length));
  if (terms.length === 1) return { ...head, ...panel(log, perTerm, terms[0]) };
  return {
    ...head,
    facet: { row: { field: "term", type: "nominal", title: null, sort: [...terms] } },
    spec: panel(log, perTerm, null),
    resolve: { scale: { y: "independent" } },
  };
}

/** Renders a Vega-Lite spec to SVG with Vega's headless view (no canvas needed for SVG). */
export async function renderVegaLiteSvg(spec: VegaLiteSpec): Promise<string> {
  const [vl, vega] = await Promise.all([import("vega-lite"), import("vega")]);
  const compiled = vl.compile(spec as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: "none" });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/** Charts the loss terms of `metrics` (rows, or the text of a metrics.jsonl file). */
export function lossChart(metrics: readonly MetricsRow[] | string, opts: LossChartOptions = {}): LossChart {
  const rows = parseRows(metrics);
  const terms = opts.terms ? [...opts.terms] : defaultTerms(rows);
  if (terms.length === 0) {
    throw new VizInputError(WHAT, "expected at least one numeric metric besides 'step', found none");
  }
  const points = lossPoints(rows, terms, opts.log);
  for (const term of terms) {
    if (!points.some((p) => p.term === term)) {
      throw new VizInputError(
        WHAT,
        `expected numeric values of '${term}'${
          opts.log ? " above 0" : ""
        }, found none in ${rows.length} rows`,
      );
    }
  }
  const spec = lossChartSpec(points, terms, opts);
  const last = (term: string) => points.filter((p) => p.term === term).at(-1)!;
  const summary = `losses over ${rows.length} rows: ` +
    terms.map((t) => `${t} ${last(t).value.toPrecision(4)} at step ${last(t).step}`).join(", ");
  const toSvg = () => renderVegaLiteSvg(spec);
  return {
    spec,
    points,
    terms,
    summary,
    toSvg,
    [JUPYTER_DISPLAY]: async (): Promise<MimeBundle> => ({
      [VEGA_LITE_MIME]: spec,
      ...await pictureBundle(await toSvg(), summary),
    }),
    toFile: async (path) => {
      switch (extensionOf(path)) {
        case "json":
          return await Deno.writeTextFile(path, JSON.stringify(spec, null, 1) + "\n");
        case "svg":
          return await Deno.writeTextFile(path, await toSvg());
        default:
          throw unsupportedExtension(path, ["json", "svg"]);
      }
    },
  };
}
