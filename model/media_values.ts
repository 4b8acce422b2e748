/**
 * Media values checked at the door: video in [0, 1] and no NaN or Inf in video or audio. A NaN frame
 * otherwise gives a NaN loss many ops later, and bytes 0..255 where [0, 1] was meant train a model
 * that is silently wrong. One reduction per row and a single read-back; the offending value is
 * looked up on the host only when a row fails.
 *
 * Letters: B batch.
 */
import * as tf from "@tensorflow/tfjs-core";

type Range = { readonly lo: number; readonly hi: number } | undefined;

/** The first element of row `row` that is non-finite or outside `range`: its index in the row and value. */
function firstBad(x: tf.Tensor, row: number, range: Range): { index: number[]; value: number } {
  const rowShape = x.shape.slice(1);
  const values = tf.tidy(() => tf.slice(x, [row, ...rowShape.map(() => 0)], [1, ...rowShape])).dataSync();
  const i = values.findIndex((v) =>
    !Number.isFinite(v) || (range !== undefined && (v < range.lo || v > range.hi))
  );
  const index: number[] = [];
  for (let rest = Math.max(i, 0), d = rowShape.length - 1; d >= 0; d--) {
    index.unshift(rest % rowShape[d]);
    rest = Math.floor(rest / rowShape[d]);
  }
  return { index, value: values[Math.max(i, 0)] };
}

export type BadValue = { readonly expected: string; readonly got: string; readonly reason?: string };

/**
 * The first bad value of `x` ([B, ...]): a NaN or Inf, or a value outside `range`, with its batch
 * row, element and value (inputs.ts turns it into an InputError). Needs a backend that can read back.
 */
export function findBadValue(x: tf.Tensor, range: Range): BadValue | undefined {
  const B = x.shape[0] ?? 0;
  if (B === 0 || x.size === 0) return undefined;
  const axes = x.shape.slice(1).map((_, i) => i + 1);
  // x * 0 is 0 for finite x and NaN for NaN and +-Inf: one sum per row finds both.
  const stats = tf.tidy(() => tf.stack([tf.sum(tf.mul(x, 0), axes), tf.min(x, axes), tf.max(x, axes)], 1) // [B, 3]
  );
  const s = stats.dataSync();
  stats.dispose();
  for (let b = 0; b < B; b++) {
    const [nonFinite, lo, hi] = [s[3 * b], s[3 * b + 1], s[3 * b + 2]];
    const outside = range !== undefined && (lo < range.lo || hi > range.hi);
    if (!Number.isNaN(nonFinite) && !outside) continue;
    const { index, value } = firstBad(x, b, range);
    const expected = range ? `finite values in [${range.lo}, ${range.hi}]` : "finite values";
    // Bytes 0..255 reach well above 1 on any real frame; values just past 1 are another mistake.
    const bytes = range?.hi === 1 && hi > 2 && hi <= 255 && lo >= 0 && Number.isFinite(nonFinite);
    return {
      expected,
      got: `${value} at row ${b}, element [${index.join(", ")}]`,
      reason: bytes ? `values up to ${hi} look like bytes 0..255: divide by 255` : undefined,
    };
  }
  return undefined;
}
