/**
 * A minimal PNG encoder (ISO/IEC 15948): 8-bit greyscale, RGB or RGBA, no interlacing, filter type 0
 * on every row. Enough for heatmaps (viz/) and video frames in TFRecord shards (data/); zlib comes
 * from node:zlib, the CRC-32 that guards each chunk is computed here (crc32c.ts is the Castagnoli
 * polynomial, not PNG's).
 */
import { deflateSync } from "node:zlib";

/** 1 = grey, 3 = RGB, 4 = RGBA; samples are row-major, `channels` bytes per pixel. */
export type Raster = {
  readonly width: number;
  readonly height: number;
  readonly channels: 1 | 3 | 4;
  readonly pixels: Uint8Array; // [height, width, channels]
};

export class PngError extends Error {
  override readonly name = "PngError";
  constructor(reason: string) {
    super(`Cannot encode PNG: ${reason}`);
  }
}

const SIGNATURE = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a);
const COLOR_TYPE: Record<Raster["channels"], number> = { 1: 0, 3: 2, 4: 6 };

const CRC_TABLE = (() => {
  const table = new Uint32Array(256);
  for (let n = 0; n < 256; n++) {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    table[n] = c >>> 0;
  }
  return table;
})();

/** CRC-32 (ISO 3309, reflected polynomial 0xEDB88320), as PNG and zlib use it. */
export function crc32(bytes: Uint8Array, crc = 0): number {
  let c = ~crc >>> 0;
  for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
  return ~c >>> 0;
}

function chunk(type: string, data: Uint8Array): Uint8Array {
  const out = new Uint8Array(12 + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, data.length);
  for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
  out.set(data, 8);
  view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
  return out;
}

/** Encodes a raster as PNG bytes. */
export function encodePng(raster: Raster): Uint8Array {
  const { width, height, channels, pixels } = raster;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new PngError(`expected a positive integer size, got ${width}x${height}`);
  }
  if (pixels.length !== width * height * channels) {
    throw new PngError(
      `expected ${width}x${height}x${channels} = ${width * height * channels} samples, got ${pixels.length}`,
    );
  }
  const header = new Uint8Array(13);
  const hv = new DataView(header.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  header.set([8, COLOR_TYPE[channels], 0, 0, 0], 8); // bit depth, colour type, deflate, filter 0, no interlace
  const stride = width * channels;
  const filtered = new Uint8Array(height * (stride + 1)); // each row: filter byte 0, then the samples
  for (let y = 0; y < height; y++) {
    filtered.set(pixels.subarray(y * stride, (y + 1) * stride), y * (stride + 1) + 1);
  }
  const parts = [
    SIGNATURE,
    chunk("IHDR", header),
    chunk("IDAT", deflateSync(filtered)),
    chunk("IEND", new Uint8Array(0)),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of parts) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}

/** An RGB raster from float samples in [0, 1] (clamped, rounded): a decoded video frame. */
export function rgbRaster(frame: Float32Array, height: number, width: number): Raster {
  return {
    width,
    height,
    channels: 3,
    pixels: Uint8Array.from(frame, (v) => Math.round(Math.min(1, Math.max(0, v)) * 255)),
  };
}
