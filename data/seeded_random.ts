/**
 * mulberry32 (Tommy Ettinger): a small seeded 32-bit generator of floats in [0, 1). For shuffling
 * and for drawing synthetic scenes, where what matters is that a seed gives the same sequence
 * everywhere; the model's randomness uses Threefry keys (transforms/random.ts) instead.
 */
export function seededUniform(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
