/**
 * What every helper returns: a plain object that the Deno Jupyter kernel renders through
 * `Symbol.for("Jupyter.display")` (the kernel awaits the returned bundle), and that scripts write to
 * a file with `toFile(path)`, the format chosen by the extension. Every picture's bundle carries the
 * SVG and its PNG rendering side by side: trusted frontends pick the SVG, the others (untrusted
 * JupyterLab, VS Code, GitHub, nbconvert's HTML export) the PNG.
 */
import { base64, encodePng, type Raster } from "./png.ts";
import { svgToPng } from "./rasterize.ts";
import { VizInputError } from "./errors.ts";

/** The key the Deno kernel looks up on a cell's value (`Deno.jupyter.$display`). */
export const JUPYTER_DISPLAY: unique symbol = Symbol.for("Jupyter.display") as never;

/** MIME type -> content, as in Jupyter's display_data messages. */
export type MimeBundle = Readonly<Record<string, unknown>>;

export type Displayable = {
  [JUPYTER_DISPLAY](): MimeBundle | Promise<MimeBundle>;
  /** Writes the figure; the extension picks the format (see each helper for the ones it has). */
  toFile(path: string): Promise<void>;
};

/** A figure drawn as SVG; `.png` writes its raster form (cells/frames with boundaries, no text). */
export type SvgFigure = Displayable & {
  readonly svg: string;
  readonly width: number;
  readonly height: number;
  /** One line for text-only frontends and logs. */
  readonly summary: string;
};

export function extensionOf(path: string): string {
  const m = /\.([A-Za-z0-9]+)$/.exec(path);
  return m ? m[1].toLowerCase() : "";
}

export function unsupportedExtension(path: string, supported: readonly string[]): VizInputError {
  return new VizInputError(
    `write ${path}`,
    `expected one of the extensions ${supported.map((e) => "." + e).join(", ")}, got '${
      extensionOf(path) || "none"
    }'`,
  );
}

/** The MIME bundle of a picture drawn as `svg`: its PNG rendering, the SVG itself and `summary`. */
export async function pictureBundle(svg: string, summary: string): Promise<MimeBundle> {
  return {
    "image/png": base64(await svgToPng(svg)),
    "image/svg+xml": svg,
    "text/plain": summary,
  };
}

export function svgFigure(
  svg: string,
  size: { readonly width: number; readonly height: number },
  summary: string,
  raster: () => Raster,
): SvgFigure {
  return {
    svg,
    width: size.width,
    height: size.height,
    summary,
    [JUPYTER_DISPLAY]: () => pictureBundle(svg, summary),
    toFile: async (path) => {
      switch (extensionOf(path)) {
        case "svg":
          return await Deno.writeTextFile(path, svg);
        case "png":
          return await Deno.writeFile(path, encodePng(raster()));
        default:
          throw unsupportedExtension(path, ["svg", "png"]);
      }
    },
  };
}
