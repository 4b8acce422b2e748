import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { BadMediaConfig } from "../../data/errors.ts";
import {
  LOG_MEL_BLOCK_COLUMNS,
  LOG_MEL_DEFAULTS,
  logMel,
  logMelColumns,
  type LogMelOptions,
  melBandCentresHz,
  melWeightMatrix,
} from "../../data/logmel.ts";

const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const REFERENCE = new URL("./logmel_reference.py", import.meta.url).pathname;

/** Deterministic test signal: two tones, a chirp and LCG noise. */
function testSignal(n: number, sampleRate: number, seed = 1): Float32Array {
  let s = seed >>> 0;
  const noise = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32) * 2 - 1;
  return Float32Array.from({ length: n }, (_, i) => {
    const t = i / sampleRate;
    return 0.3 * Math.sin(2 * Math.PI * 440 * t) + 0.1 * Math.sin(2 * Math.PI * (200 + 3000 * t) * t) +
      0.05 * Math.sin(2 * Math.PI * 2500 * t) + 0.05 * noise();
  });
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  assert.equal(a.length, b.length, "lengths differ");
  let d = 0;
  for (let i = 0; i < a.length; i++) d = Math.max(d, Math.abs(a[i] - b[i]));
  return d;
}

/** Runs tests/data/logmel_reference.py (tf.signal) on `samples`; returns its log-mel and mel matrix. */
async function tensorflowLogMel(samples: Float32Array, o: LogMelOptions) {
  const dir = await Deno.makeTempDir({ prefix: "logmel_ref_" });
  try {
    await Deno.writeFile(
      `${dir}/x.f32`,
      new Uint8Array(samples.buffer, samples.byteOffset, samples.byteLength),
    );
    const out = await new Deno.Command(PYTHON, { args: [REFERENCE, `${dir}/x.f32`, dir, JSON.stringify(o)] })
      .output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const read = async (f: string) => new Float32Array((await Deno.readFile(`${dir}/${f}`)).buffer);
    return { logMel: await read("logmel.f32"), mel: await read("mel.f32") };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("logMel() equals TensorFlow's stft + linear_to_mel_weight_matrix + log, for default and custom options", async () => {
  const custom: LogMelOptions = {
    sampleRate: 22_050,
    window: 551,
    hop: 220,
    fftLength: 1024,
    melBins: 40,
    fMin: 125,
    fMax: 7_600,
    logOffset: 1e-3,
  };
  for (const o of [LOG_MEL_DEFAULTS, custom]) {
    const x = testSignal(Math.round(1.3 * o.sampleRate), o.sampleRate);
    const ref = await tensorflowLogMel(x, o);
    const ours = logMel(x, o);
    assert.equal(ours.length, logMelColumns(x.length, o) * o.melBins);
    assert.ok(maxAbsDiff(melWeightMatrix(o), ref.mel) < 1e-4, "mel filterbank differs from tf.signal's");
    const d = maxAbsDiff(ours, ref.logMel);
    assert.ok(d < 1e-3, `log-mel differs from TensorFlow by ${d} (options ${JSON.stringify(o)})`);
  }
});

Deno.test("logMel() of a 1 kHz tone peaks in the mel band centred nearest 1 kHz, in every column", () => {
  const o = LOG_MEL_DEFAULTS;
  const x = Float32Array.from(
    { length: o.sampleRate },
    (_, i) => 0.5 * Math.sin((2 * Math.PI * 1000 * i) / o.sampleRate),
  );
  const y = logMel(x); // [F, Mb]
  const F = logMelColumns(x.length);
  assert.equal(F, 1 + Math.floor((16_000 - 400) / 160)); // 98 columns for one second
  const centres = melBandCentresHz();
  const expected = centres.reduce(
    (best, c, m) => Math.abs(c - 1000) < Math.abs(centres[best] - 1000) ? m : best,
    0,
  );
  for (let j = 0; j < F; j++) {
    const row = y.subarray(j * o.melBins, (j + 1) * o.melBins);
    assert.equal(row.indexOf(Math.max(...row)), expected, `column ${j} peaks elsewhere`);
  }
});

Deno.test("logMel() of audio longer than one block equals the log-mel of its pieces, and leaks no tensors", () => {
  const { hop, window, melBins } = LOG_MEL_DEFAULTS;
  const F = 2 * LOG_MEL_BLOCK_COLUMNS + 300;
  const x = testSignal((F - 1) * hop + window, 16_000, 3);
  const before = tf.memory().numTensors;
  const whole = logMel(x);
  assert.equal(tf.memory().numTensors, before, "logMel() leaked tensors");
  assert.equal(whole.length, F * melBins);
  for (const [a, b] of [[0, 10], [LOG_MEL_BLOCK_COLUMNS - 5, LOG_MEL_BLOCK_COLUMNS + 5], [F - 7, F]]) {
    const piece = logMel(x.subarray(a * hop, (b - 1) * hop + window));
    const d = maxAbsDiff(whole.subarray(a * melBins, b * melBins), piece);
    assert.ok(d < 1e-4, `columns [${a}, ${b}) differ by ${d}`);
  }
});

Deno.test("logMel() of silence is log(logOffset) everywhere", () => {
  const y = logMel(new Float32Array(4000), { logOffset: 1e-4 });
  assert.ok(y.length > 0);
  for (const v of y) assert.ok(Math.abs(v - Math.log(1e-4)) < 1e-6);
});

Deno.test("logMel() is shift-equivariant: dropping k hops of samples drops exactly k columns", () => {
  const hop = 160, melBins = 16;
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 2 ** 31 - 1 }), (k, seed) => {
      const x = testSignal(2400, 16_000, seed);
      const full = logMel(x, { hop, melBins });
      const shifted = logMel(x.subarray(k * hop), { hop, melBins });
      const d = maxAbsDiff(full.subarray(k * melBins), shifted);
      assert.ok(d < 1e-4, `shift by ${k} hops changed later columns by ${d}`);
    }),
    { numRuns: 100, seed: 6 },
  );
});

Deno.test("logMel() rejects options that cannot work together, naming the option", () => {
  const bad: Partial<LogMelOptions>[] = [{ fMax: 9_000 }, { fftLength: 256 }, { hop: 0 }, { melBins: 2.5 }, {
    fMin: 8_000,
  }];
  for (const o of bad) {
    assert.throws(
      () => logMel(new Float32Array(1000), o),
      (e: unknown) => e instanceof BadMediaConfig && /Cannot use media option/.test(e.message),
    );
  }
});
