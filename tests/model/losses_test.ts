import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { normalValues, PRNGKey, uniformValues } from "../../transforms/random.ts";
import { tiny, withFrames } from "../../model/config.ts";
import {
  cosineDistance,
  latentLoss,
  reconstructionLoss,
  stopGradient,
  textLoss,
  totalLoss,
} from "../../model/losses.ts";
import { audioTargets, videoTargets } from "../../model/reconstruction.ts";

await setBackend("wasm");

const close = (a: number, b: number, tol = 1e-4) =>
  assert.ok(Math.abs(a - b) <= tol * Math.max(1, Math.abs(b)), `${a} vs ${b}`);

/** Host oracle: 1 - mean over rows of cos(a_row, b_row). */
function naiveCosineDistance(a: Float32Array, b: Float32Array, width: number): number {
  let sum = 0;
  const rows = a.length / width;
  for (let r = 0; r < rows; r++) {
    let dot = 0, na = 0, nb = 0;
    for (let i = 0; i < width; i++) {
      const [x, y] = [a[r * width + i], b[r * width + i]];
      dot += x * y, na += x * x, nb += y * y;
    }
    sum += dot / (Math.sqrt(na) * Math.sqrt(nb));
  }
  return 1 - sum / rows;
}

Deno.test("latentLoss is 1 - mean cosine between h_t and x_{t+1}, token by token, t = 1..T-1 (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 2, max: 5 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 6 }),
      fc.nat(),
      (T, m, D, seed) => {
        const B = 2,
          h = normalValues(PRNGKey(seed), B * T * m * D),
          x = normalValues(PRNGKey(seed + 1), B * T * m * D);
        const got = tf.tidy(() =>
          latentLoss(tf.tensor(h, [B, T, m, D]), tf.tensor(x, [B, T, m, D])).dataSync()[0]
        );
        // pairs: h[b, t] with x[b, t+1]
        const hs: number[] = [], xs: number[] = [];
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T - 1; t++) {
            hs.push(...h.slice(((b * T + t) * m) * D, ((b * T + t + 1) * m) * D));
            xs.push(...x.slice(((b * T + t + 1) * m) * D, ((b * T + t + 2) * m) * D));
          }
        }
        close(got, naiveCosineDistance(Float32Array.from(hs), Float32Array.from(xs), D));
      },
    ),
    { numRuns: 100, seed: 51 },
  );
});

Deno.test("latentLoss is 0 exactly when h_t points along x_{t+1} (any positive scale), 2 when opposite", () => {
  const x = tf.tensor(normalValues(PRNGKey(1), 2 * 3 * 2 * 4), [2, 3, 2, 4]);
  const next = tf.concat([tf.slice(x, [0, 1, 0, 0], [2, 2, 2, 4]), tf.zeros([2, 1, 2, 4])], 1); // h_t = x_{t+1}
  close(latentLoss(tf.mul(next, 3.5), x).dataSync()[0], 0, 1e-5);
  close(latentLoss(tf.neg(next), x).dataSync()[0], 2, 1e-5);
  assert.equal(
    latentLoss(tf.slice(x, [0, 0, 0, 0], [2, 1, 2, 4]), tf.slice(x, [0, 0, 0, 0], [2, 1, 2, 4]))
      .dataSync()[0],
    0,
    "T = 1 has no pairs",
  );
});

Deno.test("cosine losses stay finite for all-zero vectors (a black v_small)", () => {
  const z = tf.zeros([1, 3, 5]);
  const v = reconstructionLoss(z, z).dataSync()[0];
  assert.ok(Number.isFinite(v));
  assert.ok(Number.isFinite(cosineDistance(z, tf.ones([1, 3, 5])).dataSync()[0]));
});

Deno.test("reconstructionLoss compares the prediction made at t with the target of t+1", () => {
  const target = tf.tensor(normalValues(PRNGKey(2), 2 * 4 * 6), [2, 4, 6]);
  const predNext = tf.concat([tf.slice(target, [0, 1, 0], [2, 3, 6]), tf.ones([2, 1, 6])], 1);
  close(reconstructionLoss(predNext, target).dataSync()[0], 0, 1e-5);
  assert.ok(
    reconstructionLoss(target, target).dataSync()[0] > 0.1,
    "predicting the current chunk is not the target",
  );
});

/** Host oracle: mean over (b, l >= 1) with weight lossMask*textMask of -log softmax(logits[b, l-1])[text[b, l]]. */
function naiveTextLoss(
  logits: Float32Array,
  text: Int32Array,
  textMask: number[],
  lossMask: number[],
  B: number,
  L: number,
  V: number,
): number {
  let sum = 0, count = 0;
  for (let b = 0; b < B; b++) {
    for (let l = 1; l < L; l++) {
      const w = lossMask[b * L + l] * (textMask[b * L + l] > 0 ? 1 : 0);
      if (w === 0) continue;
      const row = logits.slice((b * L + l - 1) * V, (b * L + l) * V);
      const max = Math.max(...row);
      const lse = max + Math.log(row.reduce((a, z) => a + Math.exp(z - max), 0));
      sum += w * (lse - row[text[b * L + l]]), count += w;
    }
  }
  return count === 0 ? 0 : sum / Math.max(count, 1);
}

Deno.test("textLoss is next-token cross-entropy over lossMask positions only, padding never scored (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 7 }),
      fc.integer({ min: 2, max: 9 }),
      fc.nat(),
      (B, L, V, seed) => {
        const logits = normalValues(PRNGKey(seed), B * L * V).map((z) => 3 * z);
        const text = Int32Array.from(uniformValues(PRNGKey(seed + 1), B * L), (u) => Math.floor(u * V));
        const bits = (s: number) => Array.from(uniformValues(PRNGKey(s), B * L), (u) => (u < 0.7 ? 1 : 0));
        const textMask = bits(seed + 2), lossMask = bits(seed + 3);
        const got = tf.tidy(() =>
          textLoss(
            tf.tensor(logits, [B, L, V]),
            tf.tensor2d(text, [B, L], "int32"),
            tf.tensor2d(textMask, [B, L]),
            tf.tensor2d(lossMask, [B, L]),
          ).dataSync()[0]
        );
        close(got, naiveTextLoss(logits, text, textMask, lossMask, B, L, V));
        assert.ok(Number.isFinite(got));
      },
    ),
    { numRuns: 100, seed: 53 },
  );
});

Deno.test("textLoss ignores the logits of unscored positions entirely", () => {
  const [B, L, V] = [1, 5, 7];
  const logits = normalValues(PRNGKey(4), B * L * V);
  const text = tf.tensor2d([[1, 2, 3, 4, 5]], [1, 5], "int32");
  const lossMask = tf.tensor2d([[0, 0, 0, 1, 1]]); // only tokens 3 and 4 (the answer) are scored: logits 2 and 3
  const changed = logits.slice();
  for (const l of [0, 1, 4]) for (let v = 0; v < V; v++) changed[l * V + v] += 10 * (v + 1);
  const run = (x: Float32Array) =>
    textLoss(tf.tensor(x, [B, L, V]), text, tf.ones([1, 5]), lossMask).dataSync()[0];
  assert.equal(run(changed), run(logits));
});

Deno.test("videoTargets average-pools each chunk to v_small; audioTargets pools the spectrogram", () => {
  const c = withFrames(tiny, 8, 2); // K = 4 frames of 16x16, v_small 1 x 4 x 4
  const N = 8, H = 16, W = 16;
  const v = uniformValues(PRNGKey(5), N * H * W * 3);
  const got = videoTargets(tf.tensor(v, [1, N, H, W, 3]), c).arraySync()[0];
  for (const [t, i, j, ch] of [[0, 0, 0, 0], [1, 3, 2, 1], [0, 2, 3, 2]]) {
    let sum = 0;
    for (let f = 0; f < 4; f++) {
      for (let y = 0; y < 4; y++) {
        for (let x = 0; x < 4; x++) sum += v[(((t * 4 + f) * H + i * 4 + y) * W + j * 4 + x) * 3 + ch];
      }
    }
    close(got[t][(i * 4 + j) * 3 + ch], sum / 64, 1e-5);
  }
  const a = normalValues(PRNGKey(6), 32 * 8);
  const at = audioTargets(tf.tensor(a, [1, 32, 8]), c).arraySync()[0]; // 16 columns x 8 bins per chunk -> 4 x 4
  let sum = 0;
  for (let col = 0; col < 4; col++) {
    for (let bin = 0; bin < 2; bin++) sum += a[(16 + 4 * 2 + col) * 8 + 2 * 3 + bin];
  }
  close(at[1][2 * 4 + 3], sum / 8, 1e-5);
});

Deno.test("stopGradient passes values through and blocks the gradient", () => {
  const x = tf.tensor1d([1, -2, 3]);
  assert.deepEqual(stopGradient(x).arraySync(), [1, -2, 3]);
  const g = tf.grad((y: tf.Tensor) => tf.sum(tf.mul(stopGradient(y), y)))(x);
  assert.deepEqual(g.arraySync(), [1, -2, 3]); // d/dy (c * y) with c = y held constant
});

Deno.test("totalLoss weighs each term", () => {
  const terms = { latent: tf.scalar(0.5), reconstruction: tf.scalar(0.25), text: tf.scalar(2) };
  close(totalLoss(terms, { latent: 0.25, reconstruction: 1, text: 10 }).dataSync()[0], 0.125 + 0.25 + 20);
});
