import assert from "node:assert/strict";
import fc from "fast-check";
import { crc32c, maskCrc, unmaskCrc } from "../../formats/crc32c.ts";

const ascii = (s: string) => new TextEncoder().encode(s);

Deno.test("crc32c() gives the standard check value for '123456789'", () => {
  assert.equal(crc32c(ascii("123456789")), 0xe3069283);
});

Deno.test("crc32c() of 32 zero bytes matches RFC 3720's test vector", () => {
  assert.equal(crc32c(new Uint8Array(32)), 0x8a9136aa);
});

Deno.test("crc32c() extends over concatenated parts exactly as over the whole", () => {
  fc.assert(
    fc.property(fc.uint8Array(), fc.uint8Array(), (a, b) => {
      const whole = new Uint8Array([...a, ...b]);
      assert.equal(crc32c(b, crc32c(a)), crc32c(whole));
    }),
    { numRuns: 200 },
  );
});

Deno.test("maskCrc() matches TensorFlow's masked value for a known entry and unmaskCrc() inverts it", () => {
  // float32 [1..6] little-endian: masked crc 0xabf5eb7a in the TensorBundle worked example
  const bytes = new Uint8Array(new Float32Array([1, 2, 3, 4, 5, 6]).buffer);
  assert.equal(maskCrc(crc32c(bytes)), 0xabf5eb7a);
  fc.assert(
    fc.property(fc.integer({ min: 0, max: 0xffffffff }), (c) => assert.equal(unmaskCrc(maskCrc(c)), c)),
  );
});
