/**
 * Explicit randomness, as in jax.random: a key is two uint32 words; `split` and `foldIn` derive new
 * keys; samplers turn a key into numbers. Nothing is stateful and nothing depends on the backend:
 * bits come from Threefry-2x32 (matching jax.random with `jax_threefry_partitionable` off, its
 * default before JAX 0.5), so a key gives the same numbers on cpu, wasm and webgpu.
 *
 * A key is host data (`HostKey`: two numbers, computed on the host) or a tensor of the same two words
 * (`TensorKey`, int32 [2] holding the uint32 bits). Tensor keys are what a traced graph takes as an
 * input: `split`, `foldIn` and the samplers then record Threefry ops (prng_kernels.ts) that the
 * exporter lowers to TensorFlow, so a graph draws for a key exactly what TypeScript draws for it.
 */
import * as tf from "@tensorflow/tfjs-core";
import { randomBits, threefry2x32, threefryHash } from "./threefry.ts";
import { abstractTensor, isAbstract } from "./abstract.ts";
import { BITS_TO_UNIT_FLOAT, registerPrngKernels, THREEFRY_BITS, THREEFRY_HASH } from "./prng_kernels.ts";

declare const keyBrand: unique symbol;
/** Two uint32 words. Plain data: print it, store it in a checkpoint, send it to a worker. */
export type HostKey = readonly [number, number] & { readonly [keyBrand]: true };
/** The two words in a tensor, int32 [2] (the uint32 bits): a graph input when tracing. */
export type TensorKey = { readonly words: tf.Tensor } & { readonly [keyBrand]: true };
/** A PRNG key. */
export type Key = HostKey | TensorKey;

export class KeyError extends Error {
  override readonly name = "KeyError";
}

const asKey = (k0: number, k1: number) => Object.freeze([k0 >>> 0, k1 >>> 0]) as unknown as HostKey;

/** Checks that `x` looks like a host key (two uint32 words), so a wrong argument fails early and clearly. */
export function isKey(x: unknown): x is HostKey {
  return Array.isArray(x) && x.length === 2 &&
    x.every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

export function isTensorKey(k: Key): k is TensorKey {
  return !Array.isArray(k) && (k as TensorKey).words instanceof tf.Tensor;
}

/** A key held in `words`, int32 [2] with the uint32 bits of the two words (a traced signature input). */
export function tensorKey(words: tf.Tensor): TensorKey {
  if (words.dtype !== "int32" || words.rank !== 1 || words.shape[0] !== 2) {
    throw new KeyError(
      `Cannot make a key from a ${words.dtype} tensor of shape [${words.shape}]: need int32 [2]`,
    );
  }
  registerPrngKernels();
  return Object.freeze({ words }) as TensorKey;
}

/** The words of a host key as int32 [2] (their uint32 bits): what a traced graph's key input takes. */
export function keyWords(key: HostKey): Int32Array {
  return new Int32Array(new Uint32Array([key[0], key[1]]).buffer);
}

/** The host words of a key; a tensor key has none (its words are computed in the graph). */
function host(key: Key, what: string): HostKey {
  if (isTensorKey(key)) {
    throw new KeyError(`Cannot ${what} from a tensor key on the host: use the tensor samplers`);
  }
  return key;
}

function hashTensor(key: TensorKey, counts: Uint32Array): tf.Tensor {
  const c = tf.tensor1d(new Int32Array(counts.buffer, counts.byteOffset, counts.length), "int32");
  return tf.engine().runKernel(
    THREEFRY_HASH,
    { key: key.words, counts: c } as unknown as tf.NamedTensorMap,
  ) as tf.Tensor;
}

/** jax.random.PRNGKey(seed): [seed div 2^32, seed mod 2^32] for a non-negative integer seed. */
export function PRNGKey(seed: number): HostKey {
  if (!Number.isSafeInteger(seed) || seed < 0) {
    throw new KeyError(`Cannot make a key from seed ${seed}: need an integer in [0, 2^53)`);
  }
  return asKey(Math.floor(seed / 2 ** 32), seed % 2 ** 32);
}

/** Makes a key from its two words, as stored in a checkpoint. */
export function keyFromWords(words: ArrayLike<number>): HostKey {
  if (!isKey(Array.from(words))) {
    throw new KeyError(`Cannot make a key from [${Array.from(words)}]: need two uint32 words`);
  }
  return asKey(words[0], words[1]);
}

/** `n` new keys; none of them equals the input key or each other. */
export function split<K extends Key>(key: K, n = 2): K[] {
  if (!Number.isInteger(n) || n < 1) {
    throw new KeyError(`Cannot split a key into ${n} keys: need a positive integer`);
  }
  const counts = new Uint32Array(2 * n);
  for (let i = 0; i < 2 * n; i++) counts[i] = i;
  if (isTensorKey(key)) {
    const bits = tf.reshape(hashTensor(key, counts), [n, 2]); // row i = key i
    return tf.unstack(bits).map((w) => tensorKey(w)) as K[];
  }
  const bits = threefryHash(key[0], key[1], counts);
  return Array.from({ length: n }, (_, i) => asKey(bits[2 * i], bits[2 * i + 1])) as K[];
}

/** A new key that depends on `key` and the integer `data` (a step, a layer index). */
export function foldIn<K extends Key>(key: K, data: number): K {
  if (!Number.isSafeInteger(data) || data < 0) {
    throw new KeyError(`Cannot fold ${data} into a key: need a non-negative integer`);
  }
  const hi = Math.floor(data / 2 ** 32), lo = data % 2 ** 32;
  // threefry_2x32(key, [hi, lo]) hashes the one pair (hi, lo): the same two words as threefry2x32.
  if (isTensorKey(key)) return tensorKey(hashTensor(key, new Uint32Array([hi, lo]))) as K;
  const out = new Uint32Array(2);
  threefry2x32(key[0], key[1], hi, lo, out);
  return asKey(out[0], out[1]) as K;
}

/**
 * [foldIn(key, d) for d of data], in one hash: threefry_2x32 hashes the pairs (first half, second
 * half) of its counters, so the counters [hi_0..hi_k, lo_0..lo_k] give every foldIn at once. For a
 * tensor key that is one Threefry op instead of k (a traced graph derives hundreds of keys a step).
 */
export function foldInMany<K extends Key>(key: K, data: readonly number[]): K[] {
  for (const d of data) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new KeyError(`Cannot fold ${d} into a key: need a non-negative integer`);
    }
  }
  if (!isTensorKey(key) || data.length < 2) return data.map((d) => foldIn(key, d));
  const k = data.length, counts = new Uint32Array(2 * k);
  data.forEach((d, i) => {
    counts[i] = Math.floor(d / 2 ** 32);
    counts[k + i] = d % 2 ** 32;
  });
  const words = tf.transpose(tf.reshape(hashTensor(key, counts), [2, k])); // row i = foldIn(key, data[i])
  return tf.unstack(words).map((w) => tensorKey(w)) as K[];
}

/** FNV-1a over UTF-8: a stable 32-bit number for a name. */
function hashName(name: string): number {
  let h = 0x811c9dc5;
  for (const byte of new TextEncoder().encode(name)) h = Math.imul(h ^ byte, 0x01000193) >>> 0;
  return h;
}

/**
 * One key per name, derived by name (Flax's rng streams): adding a sibling never changes another's
 * key, so a new submodule leaves the initialisation of the existing ones as it was.
 */
export function keysFor<const N extends string, K extends Key>(key: K, names: readonly N[]): Record<N, K> {
  const keys = foldInMany(key, names.map(hashName));
  return Object.fromEntries(names.map((name, i) => [name, keys[i]])) as Record<N, K>;
}

type Shape = readonly number[];
const sizeOf = (shape: Shape) => shape.reduce((a, b) => a * b, 1);
const f32 = Math.fround;

/** Uniform float32 in [0, 1) from the top 23 bits of each word, exactly as jax.random.uniform. */
function unitFloats(key: Key, n: number): Float32Array {
  const k = host(key, "draw numbers");
  const bits = randomBits(k[0], k[1], n);
  const out = new Float32Array(n);
  const word = new Uint32Array(1);
  const asFloat = new Float32Array(word.buffer);
  for (let i = 0; i < n; i++) {
    word[0] = (bits[i] >>> 9) | 0x3f800000;
    out[i] = asFloat[0] - 1;
  }
  return out;
}

/** Host-side uniform samples in [min, max), float32. */
export function uniformValues(key: Key, n: number, min = 0, max = 1): Float32Array {
  const u = unitFloats(key, n);
  const lo = f32(min), span = f32(f32(max) - lo);
  for (let i = 0; i < n; i++) u[i] = Math.max(lo, f32(f32(u[i] * span) + lo));
  return u;
}

const ERFINV_SMALL = [
  3.43273939e-07,
  -3.5233877e-06,
  -4.39150654e-06,
  0.00021858087,
  -0.00125372503,
  -0.00417768164,
  0.246640727,
  1.50140941,
];
const ERFINV_LARGE = [
  0.000100950558,
  0.00134934322,
  -0.00367342844,
  0.00573950773,
  -0.0076224613,
  0.00943887047,
  1.00167406,
  2.83297682,
];

/** Giles (2010) single-precision erfinv, the approximation XLA uses for float32. */
function erfinv(x: number): number {
  let w = -Math.log((1 - x) * (1 + x));
  let p: number;
  if (w < 5) {
    w -= 2.5;
    p = 2.81022636e-08;
    for (const c of ERFINV_SMALL) p = c + p * w;
  } else {
    w = Math.sqrt(w) - 3;
    p = -0.000200214257;
    for (const c of ERFINV_LARGE) p = c + p * w;
  }
  return p * x;
}

/** erf by its Taylor series: exact to ~1e-9 on |x| < 4, which is all truncation bounds need. */
function erf(x: number): number {
  if (Math.abs(x) >= 4) return Math.sign(x);
  let term = x, sum = x;
  for (let n = 1; n < 200 && Math.abs(term) > 1e-17; n++) {
    term *= (-x * x) / n;
    sum += term / (2 * n + 1);
  }
  return (2 / Math.sqrt(Math.PI)) * sum;
}

/** Host-side standard normals: sqrt(2) * erfinv(u), u uniform in (-1, 1), as jax.random.normal. */
export function normalValues(key: Key, n: number): Float32Array {
  const lo = -1 + 2 ** -24; // nextafter(-1, 0) in float32
  const u = uniformValues(key, n, lo, 1);
  for (let i = 0; i < n; i++) u[i] = Math.SQRT2 * erfinv(u[i]);
  return u;
}

/** Host-side standard normals conditioned on [lower, upper], as jax.random.truncated_normal. */
export function truncatedNormalValues(key: Key, n: number, lower = -2, upper = 2): Float32Array {
  const a = erf(lower / Math.SQRT2), b = erf(upper / Math.SQRT2);
  const u = uniformValues(key, n, a, b);
  const lo = f32(lower) + 1e-6, hi = f32(upper) - 1e-6;
  for (let i = 0; i < n; i++) u[i] = Math.min(hi, Math.max(lo, Math.SQRT2 * erfinv(u[i])));
  return u;
}

type SamplerOptions = { readonly dtype?: "float32" };

function sample(
  key: Key,
  shape: Shape,
  values: (n: number) => Float32Array,
  traced: (k: TensorKey) => tf.Tensor,
): tf.Tensor {
  if (isAbstract()) return abstractTensor(shape, "float32");
  if (isTensorKey(key)) return tf.tidy(() => traced(key));
  return tf.tensor(values(sizeOf(shape)), shape as number[], "float32");
}

/** Uniform float32 in [0, 1) for a tensor key: the same bits, then the same float as `unitFloats`. */
function unitFloatTensor(key: TensorKey, shape: Shape): tf.Tensor {
  const bits = tf.engine().runKernel(THREEFRY_BITS, { key: key.words } as unknown as tf.NamedTensorMap, {
    shape: [...shape],
  });
  return tf.engine().runKernel(BITS_TO_UNIT_FLOAT, { bits } as unknown as tf.NamedTensorMap) as tf.Tensor;
}

/** `uniformValues` in float32 tensor ops: u * span + lo, then at least lo (each step rounds as f32 does). */
function uniformTensor(key: TensorKey, shape: Shape, min: number, max: number): tf.Tensor {
  const lo = f32(min), span = f32(f32(max) - lo);
  return tf.maximum(
    tf.add(tf.mul(unitFloatTensor(key, shape), tf.scalar(span)), tf.scalar(lo)),
    tf.scalar(lo),
  );
}

/** Giles' erfinv in float32 tensor ops (the host version computes it in float64, then rounds). */
function erfinvTensor(x: tf.Tensor): tf.Tensor {
  const w0 = tf.neg(tf.log(tf.mul(tf.sub(1, x), tf.add(1, x))));
  const poly = (w: tf.Tensor, first: number, coefs: readonly number[]) =>
    coefs.reduce<tf.Tensor>((p, c) => tf.add(tf.mul(p, w), c), tf.fill(w.shape, first));
  const small = poly(tf.sub(w0, 2.5), 2.81022636e-08, ERFINV_SMALL);
  const large = poly(tf.sub(tf.sqrt(w0), 3), -0.000200214257, ERFINV_LARGE);
  return tf.mul(tf.where(tf.less(w0, 5), small, large), x);
}

/** Uniform samples in [min, max). */
export function uniform(
  key: Key,
  shape: Shape,
  opts: { min?: number; max?: number } & SamplerOptions = {},
): tf.Tensor {
  const min = opts.min ?? 0, max = opts.max ?? 1;
  return sample(key, shape, (n) => uniformValues(key, n, min, max), (k) => uniformTensor(k, shape, min, max));
}

/** Normal samples with the given mean and standard deviation. */
export function normal(
  key: Key,
  shape: Shape,
  opts: { mean?: number; std?: number } & SamplerOptions = {},
): tf.Tensor {
  const { mean = 0, std = 1 } = opts;
  return sample(key, shape, (n) => normalValues(key, n).map((z) => mean + std * z), (k) => {
    const z = tf.mul(erfinvTensor(uniformTensor(k, shape, -1 + 2 ** -24, 1)), Math.SQRT2);
    return tf.add(tf.mul(z, std), mean);
  });
}

/** Normal samples truncated to [lower, upper] standard deviations, then scaled by `std`. */
export function truncatedNormal(
  key: Key,
  shape: Shape,
  opts: { lower?: number; upper?: number; std?: number } & SamplerOptions = {},
): tf.Tensor {
  const { lower = -2, upper = 2, std = 1 } = opts;
  return sample(key, shape, (n) => truncatedNormalValues(key, n, lower, upper).map((z) => std * z), (k) => {
    const u = uniformTensor(k, shape, erf(lower / Math.SQRT2), erf(upper / Math.SQRT2));
    const z = tf.clipByValue(tf.mul(erfinvTensor(u), Math.SQRT2), f32(lower) + 1e-6, f32(upper) - 1e-6);
    return tf.mul(z, std);
  });
}

/** Boolean samples that are true with probability p. */
export function bernoulli(key: Key, p: number, shape: Shape): tf.Tensor {
  if (!(p >= 0 && p <= 1)) throw new KeyError(`Cannot sample bernoulli(p = ${p}): p must be in [0, 1]`);
  if (isAbstract()) return abstractTensor(shape, "bool");
  if (isTensorKey(key)) return tf.tidy(() => tf.less(unitFloatTensor(key, shape), tf.scalar(f32(p))));
  const u = unitFloats(key, sizeOf(shape));
  return tf.tensor(Uint8Array.from(u, (x) => (x < p ? 1 : 0)), shape as number[], "bool");
}
