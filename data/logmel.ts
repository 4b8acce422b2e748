/**
 * Log-mel spectrogram on tfjs, equal to TensorFlow's
 *   log(tensordot(|tf.signal.stft(x, window, hop, fftLength)|, linear_to_mel_weight_matrix(...), 1) + offset)
 * (periodic Hann window, no centre padding, HTK mel scale, magnitude spectrum). The DFT is a matmul
 * with a windowed cos/sin basis, which every backend runs fast (tfjs-wasm has no FFT kernel).
 *
 * Column j covers samples [j * hop, j * hop + window), so with 16 kHz and hop 160 there are 100 columns
 * per second: r = 4 columns per 25 fps frame.
 *
 * Letters: F columns, Mb mel bins, S samples, W window (frame length), K = fftLength / 2 + 1 bins.
 */
import * as tf from "@tensorflow/tfjs-core";
import { BadMediaConfig } from "./errors.ts";

export type LogMelOptions = {
  /** samples per second of the input (decoders resample to this) */
  readonly sampleRate: number;
  /** frame length in samples: 400 = 25 ms at 16 kHz */
  readonly window: number;
  /** step between columns in samples: 160 = 10 ms = 100 columns/s */
  readonly hop: number;
  /** DFT size, >= window; tf.signal's default is the next power of two */
  readonly fftLength: number;
  readonly melBins: number;
  /** lower edge of the lowest mel band, Hz */
  readonly fMin: number;
  /** upper edge of the highest mel band, Hz; at most sampleRate / 2 */
  readonly fMax: number;
  /** added before the log so silence gives log(offset) instead of -Infinity */
  readonly logOffset: number;
};

export const LOG_MEL_DEFAULTS: LogMelOptions = {
  sampleRate: 16_000, // the usual rate for speech/AV models (MBT, AST, Whisper)
  window: 400, // 25 ms
  hop: 160, // 10 ms: 100 columns/s, 4 per 25 fps frame (paper §3.1: time bands match 25 fps)
  fftLength: 512,
  melBins: 64, // the wsmall benchmark workload's; MBT uses 128
  fMin: 20,
  fMax: 8_000,
  logOffset: 1e-6, // the tf.signal guide's offset
};

/** Fills in defaults and checks that the options can work together; throws BadMediaConfig if not. */
export function logMelOptions(options: Partial<LogMelOptions> = {}): LogMelOptions {
  const o = { ...LOG_MEL_DEFAULTS, ...options };
  const bad = logMelProblem(o);
  if (bad) throw bad;
  return o;
}

/** The first problem with `o`, or undefined. For callers that fail in the Effect channel instead. */
export function logMelProblem(o: LogMelOptions): BadMediaConfig | undefined {
  const positiveInts = ["sampleRate", "window", "hop", "fftLength", "melBins"] as const;
  for (const k of positiveInts) {
    if (!Number.isInteger(o[k]) || o[k] <= 0) {
      return new BadMediaConfig({ option: k, reason: `must be a positive integer, got ${o[k]}` });
    }
  }
  if (o.fftLength < o.window) {
    return new BadMediaConfig({
      option: "fftLength",
      reason: `must be >= window (${o.window}), got ${o.fftLength}`,
    });
  }
  if (!(o.fMin >= 0 && o.fMin < o.fMax && o.fMax <= o.sampleRate / 2)) {
    return new BadMediaConfig({
      option: "fMin/fMax",
      reason: `need 0 <= fMin < fMax <= sampleRate / 2 (${o.sampleRate / 2}), got ${o.fMin} and ${o.fMax}`,
    });
  }
  if (!(o.logOffset > 0)) {
    return new BadMediaConfig({ option: "logOffset", reason: `must be > 0, got ${o.logOffset}` });
  }
  return undefined;
}

/** Columns of the log-mel of `sampleCount` samples: 1 + floor((S - W) / hop), 0 when S < W. */
export function logMelColumns(sampleCount: number, options: Partial<LogMelOptions> = {}): number {
  const o = { ...LOG_MEL_DEFAULTS, ...options };
  return sampleCount < o.window ? 0 : 1 + Math.floor((sampleCount - o.window) / o.hop);
}

/** Samples needed for exactly `columns` columns: (F - 1) * hop + W. */
export function samplesForColumns(columns: number, options: Partial<LogMelOptions> = {}): number {
  const o = { ...LOG_MEL_DEFAULTS, ...options };
  return columns <= 0 ? 0 : (columns - 1) * o.hop + o.window;
}

/** Columns computed per tfjs call: bounds the [F, W] frame tensor (2048 x 400 floats = 3 MB) on long audio. */
export const LOG_MEL_BLOCK_COLUMNS = 2048;

/** float32 [F, Mb] log-mel of mono `samples`, row-major. Throws BadMediaConfig for bad options. */
export function logMel(samples: Float32Array, options: Partial<LogMelOptions> = {}): Float32Array {
  const o = logMelOptions(options);
  const F = logMelColumns(samples.length, o), K = o.fftLength / 2 + 1 | 0, W = o.window;
  const out = new Float32Array(F * o.melBins);
  if (F === 0) return out;
  const basis = tf.tensor2d(windowedDftBasis(W, o.fftLength), [W, 2 * K]);
  const mel = tf.tensor2d(melWeightMatrix(o), [K, o.melBins]);
  try {
    for (let j0 = 0; j0 < F; j0 += LOG_MEL_BLOCK_COLUMNS) {
      const Fb = Math.min(LOG_MEL_BLOCK_COLUMNS, F - j0);
      const piece = samples.subarray(j0 * o.hop, (j0 + Fb - 1) * o.hop + W);
      const index = new Int32Array(Fb * W); // [Fb, W] sample index of every frame element
      for (let j = 0; j < Fb; j++) for (let n = 0; n < W; n++) index[j * W + n] = j * o.hop + n;
      const block = tf.tidy(() => {
        const frames = tf.gather(tf.tensor1d(piece, "float32"), tf.tensor2d(index, [Fb, W], "int32")); // [Fb, W]
        const spectrum = tf.matMul(frames, basis); // [Fb, 2K]: re | im
        const re = tf.slice(spectrum, [0, 0], [Fb, K]);
        const im = tf.slice(spectrum, [0, K], [Fb, K]);
        const magnitude = tf.sqrt(tf.add(tf.square(re), tf.square(im))); // [Fb, K]
        return tf.log(tf.add(tf.matMul(magnitude, mel), o.logOffset)); // [Fb, Mb]
      });
      out.set(block.dataSync() as Float32Array, j0 * o.melBins);
      block.dispose();
    }
  } finally {
    basis.dispose();
    mel.dispose();
  }
  return out;
}

/**
 * float32 [W, 2K]: Hann-windowed (tf.signal's periodic variant) cos (first K columns) and -sin (last K)
 * DFT basis, so that frames [F, W] @ basis = [Re X, Im X], the fftLength-point DFT of the zero-padded
 * windowed frames.
 */
export function windowedDftBasis(window: number, fftLength: number): Float32Array {
  const K = fftLength / 2 + 1 | 0;
  const basis = new Float32Array(window * 2 * K);
  // tf.signal.hann_window(periodic=True) divides by L for even L but by L - 1 for odd L (symmetric)
  const denominator = window % 2 === 0 ? window : window - 1;
  for (let n = 0; n < window; n++) {
    const hann = window === 1 ? 1 : 0.5 - 0.5 * Math.cos((2 * Math.PI * n) / denominator);
    for (let k = 0; k < K; k++) {
      const phase = (2 * Math.PI * ((n * k) % fftLength)) / fftLength; // reduced mod N for accuracy
      basis[n * 2 * K + k] = hann * Math.cos(phase);
      basis[n * 2 * K + K + k] = -hann * Math.sin(phase);
    }
  }
  return basis;
}

/** HTK mel scale, as tf.signal: 1127 ln(1 + f / 700). */
export function hertzToMel(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

export function melToHertz(mel: number): number {
  return 700 * (Math.exp(mel / 1127) - 1);
}

/** Centre frequency in Hz of each of the Mb triangular mel bands. */
export function melBandCentresHz(options: Partial<LogMelOptions> = {}): number[] {
  const o = { ...LOG_MEL_DEFAULTS, ...options };
  const lo = hertzToMel(o.fMin), hi = hertzToMel(o.fMax);
  return Array.from(
    { length: o.melBins },
    (_, m) => melToHertz(lo + ((m + 1) * (hi - lo)) / (o.melBins + 1)),
  );
}

/**
 * float32 [K, Mb] triangular mel filterbank, the same as tf.signal.linear_to_mel_weight_matrix:
 * band edges evenly spaced in mel, weights interpolated in mel, the DC bin zeroed.
 */
export function melWeightMatrix(options: Partial<LogMelOptions> = {}): Float32Array {
  const o = { ...LOG_MEL_DEFAULTS, ...options };
  const K = o.fftLength / 2 + 1 | 0, Mb = o.melBins;
  const lo = hertzToMel(o.fMin), hi = hertzToMel(o.fMax);
  const edges = Array.from({ length: Mb + 2 }, (_, i) => lo + (i * (hi - lo)) / (Mb + 1));
  const weights = new Float32Array(K * Mb);
  for (let k = 1; k < K; k++) { // k = 0 (DC) stays zero, as tf's bands_to_zero = 1
    const mel = hertzToMel((k * (o.sampleRate / 2)) / (K - 1));
    for (let m = 0; m < Mb; m++) {
      const rising = (mel - edges[m]) / (edges[m + 1] - edges[m]);
      const falling = (edges[m + 2] - mel) / (edges[m + 2] - edges[m + 1]);
      weights[k * Mb + m] = Math.max(0, Math.min(rising, falling));
    }
  }
  return weights;
}
