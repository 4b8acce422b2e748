/**
 * Threefry-2x32 with 20 rounds (Salmon et al. 2011, "Parallel random numbers: as easy as 1, 2, 3"),
 * the counter-based generator behind jax.random. Pure uint32 arithmetic on the host, so a key gives
 * the same bits whatever tfjs backend is active.
 */

const ROTATIONS = [[13, 15, 26, 6], [17, 29, 16, 24]] as const;
const PARITY = 0x1bd11bda;

const rotl = (x: number, r: number) => ((x << r) | (x >>> (32 - r))) >>> 0;

/** Hashes the counter pair (x0, x1) under key (k0, k1); writes the two output words into `out`. */
export function threefry2x32(k0: number, k1: number, x0: number, x1: number, out: Uint32Array, at = 0): void {
  const ks = [k0 >>> 0, k1 >>> 0, (k0 ^ k1 ^ PARITY) >>> 0];
  let a = (x0 + ks[0]) >>> 0;
  let b = (x1 + ks[1]) >>> 0;
  for (let i = 0; i < 5; i++) {
    for (const r of ROTATIONS[i % 2]) {
      a = (a + b) >>> 0;
      b = rotl(b, r) ^ a;
    }
    // key injection after every 4 rounds (the sum of three uint32s is exact in a double)
    a = (a + ks[(i + 1) % 3]) >>> 0;
    b = (b + ks[(i + 2) % 3] + i + 1) >>> 0;
  }
  out[at] = a;
  out[at + 1] = b;
}

/**
 * jax.random's `threefry_2x32(key, counts)`: the counts are split into a first and second half that
 * are hashed pairwise, and the outputs are laid out as [all first words, all second words].
 * An odd count list is padded with one 0 and the padding's output dropped.
 */
export function threefryHash(k0: number, k1: number, counts: Uint32Array): Uint32Array {
  const odd = counts.length % 2;
  const half = (counts.length + odd) / 2;
  const padded = odd ? new Uint32Array([...counts, 0]) : counts;
  const pair = new Uint32Array(2);
  const out = new Uint32Array(2 * half);
  for (let i = 0; i < half; i++) {
    threefry2x32(k0, k1, padded[i], padded[half + i], pair);
    out[i] = pair[0];
    out[half + i] = pair[1];
  }
  return odd ? out.subarray(0, counts.length) : out;
}

/** `n` random uint32 words for a key: the hash of the counters 0..n-1. */
export function randomBits(k0: number, k1: number, n: number): Uint32Array {
  const counts = new Uint32Array(n);
  for (let i = 0; i < n; i++) counts[i] = i;
  return threefryHash(k0, k1, counts);
}
