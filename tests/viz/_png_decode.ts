/**
 * A small PNG reader for the tests, independent of formats/png.ts (which writes only filter 0):
 * checks the signature and every chunk's CRC, inflates IDAT, and undoes all five row filters.
 * 8-bit greyscale, RGB and RGBA, no interlace: what resvg and our encoder write.
 */
import { crc32 } from "../../viz/png.ts";

export type DecodedImage = { width: number; height: number; channels: 1 | 3 | 4; pixels: Uint8Array };

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

async function inflate(bytes: Uint8Array): Promise<Uint8Array> {
  const stream = new Blob([bytes as BlobPart]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c, pa = Math.abs(p - a), pb = Math.abs(p - b), pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

export async function decodePng(png: Uint8Array): Promise<DecodedImage> {
  if (!SIGNATURE.every((b, i) => png[i] === b)) throw new Error("Cannot decode PNG: bad signature");
  const view = new DataView(png.buffer, png.byteOffset, png.byteLength);
  const idat: Uint8Array[] = [];
  let width = 0, height = 0, channels: 1 | 3 | 4 = 4, pos = 8;
  while (pos < png.length) {
    const length = view.getUint32(pos);
    const kind = new TextDecoder().decode(png.subarray(pos + 4, pos + 8));
    const body = png.subarray(pos + 8, pos + 8 + length);
    if (crc32(png.subarray(pos + 4, pos + 8 + length)) !== view.getUint32(pos + 8 + length)) {
      throw new Error(`Cannot decode PNG: bad CRC in ${kind}`);
    }
    if (kind === "IHDR") {
      width = view.getUint32(pos + 8);
      height = view.getUint32(pos + 12);
      const [depth, color, , , interlace] = body.subarray(8);
      const byColor = { 0: 1, 2: 3, 6: 4 } as Record<number, 1 | 3 | 4 | undefined>;
      if (depth !== 8 || interlace !== 0 || !byColor[color]) {
        throw new Error(
          `Cannot decode PNG: unsupported depth ${depth}, colour ${color}, interlace ${interlace}`,
        );
      }
      channels = byColor[color]!;
    }
    if (kind === "IDAT") idat.push(body);
    pos += 12 + length;
  }
  const raw = await inflate(new Uint8Array(idat.flatMap((c) => [...c])));
  const stride = width * channels;
  if (raw.length !== height * (stride + 1)) throw new Error("Cannot decode PNG: bad IDAT length");
  const pixels = new Uint8Array(height * stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)];
    const line = raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1));
    for (let x = 0; x < stride; x++) {
      const a = x >= channels ? pixels[y * stride + x - channels] : 0;
      const b = y > 0 ? pixels[(y - 1) * stride + x] : 0;
      const c = x >= channels && y > 0 ? pixels[(y - 1) * stride + x - channels] : 0;
      const predictor = [0, a, b, (a + b) >> 1, paeth(a, b, c)][filter];
      if (predictor === undefined) throw new Error(`Cannot decode PNG: filter type ${filter}`);
      pixels[y * stride + x] = (line[x] + predictor) & 0xff;
    }
  }
  return { width, height, channels, pixels };
}

/** The pixel at (x, y) as [r, g, b] (alpha dropped, grey repeated). */
export function rgbAt(img: DecodedImage, x: number, y: number): number[] {
  const i = (y * img.width + x) * img.channels;
  return img.channels === 1
    ? [img.pixels[i], img.pixels[i], img.pixels[i]]
    : [...img.pixels.subarray(i, i + 3)];
}
