import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import { crc32, encodePng, pngDataUri, type Raster } from "../../viz/png.ts";
import { VizInputError } from "../../viz/errors.ts";
import { dataUriBytes, decodePngs } from "./_python.ts";

await setBackend("wasm");

Deno.test("crc32() gives the CRC-32/ISO-HDLC check value and chains over pieces", () => {
  const bytes = new TextEncoder().encode("123456789");
  assert.equal(crc32(bytes), 0xcbf43926);
  assert.equal(crc32(bytes.subarray(4), crc32(bytes.subarray(0, 4))), 0xcbf43926);
  assert.equal(crc32(new Uint8Array(0)), 0);
});

const rasterArb: fc.Arbitrary<Raster> = fc
  .record({
    width: fc.integer({ min: 1, max: 19 }),
    height: fc.integer({ min: 1, max: 13 }),
    channels: fc.constantFrom(1, 3, 4) as fc.Arbitrary<1 | 3 | 4>,
  })
  .chain(({ width, height, channels }) =>
    fc.uint8Array({ minLength: width * height * channels, maxLength: width * height * channels }).map((
      pixels,
    ) => ({ width, height, channels, pixels }))
  );

Deno.test("encodePng() output decodes, in Python, to the same size, channels and pixels (CRCs checked; PIL too when installed)", async () => {
  const rasters = fc.sample(rasterArb, { numRuns: 100, seed: 42 });
  rasters.push({
    width: 300,
    height: 200,
    channels: 3,
    pixels: Uint8Array.from({ length: 300 * 200 * 3 }, (_, i) => (i * 7) % 251),
  });
  const decoded = await decodePngs(rasters.map(encodePng));
  const modes = { 1: "L", 3: "RGB", 4: "RGBA" } as const;
  decoded.forEach((d, i) => {
    const r = rasters[i];
    assert.deepEqual([d.width, d.height, d.channels], [r.width, r.height, r.channels], `raster ${i}`);
    assert.deepEqual(d.pixels, r.pixels, `raster ${i} pixels`);
    if (d.pil) {
      assert.equal(d.pil.mode, modes[r.channels]);
      assert.deepEqual(d.pil.size, [r.width, r.height]);
      assert.deepEqual(d.pil.pixels, r.pixels, `raster ${i} pixels as PIL reads them`);
    }
  });
});

Deno.test("pngDataUri() wraps exactly the encoded bytes", () => {
  const r: Raster = { width: 2, height: 1, channels: 1, pixels: Uint8Array.of(0, 255) };
  assert.deepEqual(dataUriBytes(pngDataUri(r)), encodePng(r));
});

Deno.test("encodePng() rejects a pixel buffer that does not match the size", () => {
  assert.throws(
    () => encodePng({ width: 2, height: 2, channels: 3, pixels: new Uint8Array(11) }),
    (e) =>
      e instanceof VizInputError && e.message === "Cannot encode PNG: expected 2x2x3 = 12 samples, got 11",
  );
  assert.throws(
    () => encodePng({ width: 0, height: 2, channels: 3, pixels: new Uint8Array(0) }),
    /positive integer size, got 0x2/,
  );
});
