/**
 * SVG -> PNG with resvg (its WebAssembly build from npm), so that every picture a notebook shows also
 * has a raster form: untrusted JupyterLab, VS Code, GitHub and nbconvert's HTML export show PNG where
 * they hide or blank SVG. Text is drawn with DejaVu Sans from npm (never the machine's fonts), so the
 * same SVG gives the same pixels on every machine.
 */
import { createRequire } from "node:module";
import { initWasm, Resvg } from "@resvg/resvg-wasm";
import { VizInputError } from "./errors.ts";

const require = createRequire(import.meta.url);

/** The files resvg needs, found where npm installed the packages. */
function packageFile(specifier: string): Uint8Array {
  return Deno.readFileSync(require.resolve(specifier));
}

type Renderer = { readonly fonts: readonly Uint8Array[] };

// resvg's wasm module can be instantiated only once per process, so the first call's promise is kept.
let ready: Promise<Renderer> | undefined;

function renderer(): Promise<Renderer> {
  ready ??= (async () => {
    await initWasm(packageFile("@resvg/resvg-wasm/index_bg.wasm"));
    return {
      fonts: [
        packageFile("dejavu-fonts-ttf/ttf/DejaVuSans.ttf"),
        packageFile("dejavu-fonts-ttf/ttf/DejaVuSans-Bold.ttf"),
      ],
    };
  })();
  return ready;
}

export type RasterizeOptions = {
  /** Output pixels per SVG user unit (1: the SVG's own width and height). */
  readonly scale?: number;
};

/** PNG bytes of `svg` at its own size times `scale`; a document resvg cannot parse is a VizInputError. */
export async function svgToPng(svg: string, opts: RasterizeOptions = {}): Promise<Uint8Array> {
  const { fonts } = await renderer();
  const scale = opts.scale ?? 1;
  if (!(scale > 0) || !Number.isFinite(scale)) {
    throw new VizInputError("rasterize SVG", `expected a positive scale, got ${scale}`);
  }
  let resvg: InstanceType<typeof Resvg>;
  try {
    resvg = new Resvg(svg, {
      font: {
        fontBuffers: [...fonts],
        defaultFontFamily: "DejaVu Sans",
        sansSerifFamily: "DejaVu Sans",
      },
      fitTo: { mode: "zoom", value: scale },
    });
  } catch (e) {
    throw new VizInputError("rasterize SVG", e instanceof Error ? e.message : String(e));
  }
  try {
    const image = resvg.render();
    try {
      return image.asPng();
    } finally {
      image.free();
    }
  } finally {
    resvg.free();
  }
}
