/**
 * PNG for the viz helpers: the encoder lives in formats/png.ts (data/ uses it for TFRecord frames);
 * here, data URIs for embedding rasters in SVG or HTML.
 */
import { encodePng as encodeRaw, PngError, type Raster } from "../formats/png.ts";
import { VizInputError } from "./errors.ts";

export { crc32, type Raster } from "../formats/png.ts";

/** Encodes a raster as PNG bytes; a bad raster is a VizInputError. */
export function encodePng(raster: Raster): Uint8Array {
  try {
    return encodeRaw(raster);
  } catch (e) {
    if (e instanceof PngError) {
      throw new VizInputError("encode PNG", e.message.replace(/^Cannot encode PNG: /, ""));
    }
    throw e;
  }
}

/** `data:image/png;base64,...` for embedding a raster in SVG or HTML. */
export function pngDataUri(raster: Raster): string {
  return `data:image/png;base64,${base64(encodePng(raster))}`;
}

export function base64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}
