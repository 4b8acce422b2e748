import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey, uniformValues } from "../../transforms/random.ts";
import {
  type MirasolConfig,
  tiny,
  type TubeConfig,
  tubeGrid,
  videoTokensPerChunk,
  withFrames,
} from "../../model/config.ts";
import * as position from "../../model/layers/position.ts";
import { extractTubes, positionEmbedding3d, tubeCentres } from "../../model/tubes.ts";
import * as videoEncoder from "../../model/video_encoder.ts";

await setBackend("wasm");

/** Naive oracle: loop over tubes and voxels. x is [X, K, H, W, C] row-major. */
function naiveTubes(x: Float32Array, [X, K, H, W, C]: number[], tube: TubeConfig): number[][][] {
  const [nt, nh, nw] = tubeGrid(tube, K, H, W);
  const at = (b: number, t: number, h: number, w: number, c: number) =>
    x[((((b * K + t) * H + h) * W + w) * C) + c];
  const out: number[][][] = [];
  for (let b = 0; b < X; b++) {
    const tubes: number[][] = [];
    for (let i = 0; i < nt; i++) {
      for (let j = 0; j < nh; j++) {
        for (let k = 0; k < nw; k++) {
          const v: number[] = [];
          for (let dt = 0; dt < tube.kernel[0]; dt++) {
            for (let dh = 0; dh < tube.kernel[1]; dh++) {
              for (let dw = 0; dw < tube.kernel[2]; dw++) {
                for (let c = 0; c < C; c++) {
                  v.push(
                    at(
                      b,
                      i * tube.stride[0] + dt,
                      tube.offset[0] + j * tube.stride[1] + dh,
                      tube.offset[1] + k * tube.stride[2] + dw,
                      c,
                    ),
                  );
                }
              }
            }
          }
          tubes.push(v);
        }
      }
    }
    out.push(tubes);
  }
  return out;
}

const axis = (len: number) =>
  fc.integer({ min: 1, max: len }).chain((k) => fc.tuple(fc.constant(k), fc.integer({ min: k, max: k + 3 })));

Deno.test("extractTubes equals a naive loop over tubes and voxels, for any non-overlapping tube (property)", () => {
  fc.assert(
    fc.property(
      fc.record({
        X: fc.integer({ min: 1, max: 2 }),
        K: fc.integer({ min: 1, max: 6 }),
        H: fc.integer({ min: 1, max: 9 }),
        W: fc.integer({ min: 1, max: 9 }),
        C: fc.integer({ min: 1, max: 3 }),
      }),
      fc.nat(),
      ({ X, K, H, W, C }, seed) => {
        const tubeArb = fc.tuple(axis(K), axis(H), axis(W), fc.nat({ max: 3 }), fc.nat({ max: 3 }));
        const [[kt, st], [kh, sh], [kw, sw], oh, ow] = fc.sample(tubeArb, { numRuns: 1, seed })[0];
        const tube: TubeConfig = { kernel: [kt, kh, kw], stride: [st, sh, sw], offset: [oh, ow] };
        if (tubeGrid(tube, K, H, W).some((g) => g === 0)) return; // does not fit: the config validator refuses it
        const shape = [X, K, H, W, C];
        const values = uniformValues(PRNGKey(seed), X * K * H * W * C);
        const got = tf.tidy(() => extractTubes(tf.tensor(values, shape), tube).arraySync());
        assert.deepEqual(got, naiveTubes(values, shape, tube));
      },
    ),
    { numRuns: 150, seed: 17 },
  );
});

Deno.test("tubeCentres lists (t, h, w) = idx * stride + offset + kernel // 2, in extractTubes order, t from the chunk's first frame", () => {
  const tube: TubeConfig = { kernel: [4, 3, 2], stride: [5, 4, 3], offset: [1, 2] };
  const [K, H, W] = [10, 11, 9];
  // A video whose voxel value encodes its own (t, h, w): the middle voxel of each tube is its centre.
  const coords = new Float32Array(K * H * W * 3);
  for (let t = 0; t < K; t++) {
    for (let h = 0; h < H; h++) {
      for (let w = 0; w < W; w++) coords.set([t, h, w], ((t * H + h) * W + w) * 3);
    }
  }
  const tubes = tf.tidy(() => extractTubes(tf.tensor(coords, [1, K, H, W, 3]), tube).arraySync())[0];
  const [kt, kh, kw] = tube.kernel;
  const mid = ((Math.floor(kt / 2) * kh + Math.floor(kh / 2)) * kw + Math.floor(kw / 2)) * 3;
  assert.deepEqual(tubes.map((v) => v.slice(mid, mid + 3)), tubeCentres(tube, K, H, W));
  assert.deepEqual(tubeCentres(tube, K, H, W)[0], [0 + 2, 1 + 1, 2 + 1]); // first tube starts at frame 0
  assert.equal(tubes.length, 2 * 2 * 2); // t: (10-4)/5+1, h: (11-1-3)/4+1, w: (9-2-2)/3+1
});

Deno.test("positionEmbedding3d is TubeViT's sincos3d when D % 6 == 0, and zero-pads the spare channels otherwise", () => {
  const centres = [[0, 1, 2], [3, 4, 5], [7, 0, 1]];
  assert.deepEqual(positionEmbedding3d(centres, 48).arraySync(), position.sincos3d(centres, 48).arraySync());
  const padded = positionEmbedding3d(centres, 128).arraySync();
  const head = position.sincos3d(centres, 126).arraySync();
  padded.forEach((row, i) => {
    assert.deepEqual(row.slice(0, 126), head[i]);
    assert.deepEqual(row.slice(126), [0, 0]);
  });
});

const cfg: MirasolConfig = withFrames(tiny, 12, 3); // T = 3 chunks of K = 4 frames

Deno.test("the video encoder maps [B, N, H, W, 3] to [B, T, f, D] with f from the tube grid", () => {
  const p = videoEncoder.init(PRNGKey(0), cfg), bb = videoEncoder.initBackbone(PRNGKey(1), cfg);
  const v = tf.tensor(uniformValues(PRNGKey(2), 2 * 12 * 16 * 16 * 3), [2, 12, 16, 16, 3]);
  const out = videoEncoder.apply(p, bb, v, { config: cfg, train: false });
  assert.deepEqual(out.shape, [2, 3, videoTokensPerChunk(cfg), cfg.width.dim]);
  assert.equal(videoTokensPerChunk(cfg), 8);
  assert.ok(tf.all(tf.isFinite(out)).dataSync()[0]);
});

Deno.test("each chunk is encoded from its own K frames only: changing chunk t' changes v̂_t' and nothing else", () => {
  const p = videoEncoder.init(PRNGKey(0), cfg), bb = videoEncoder.initBackbone(PRNGKey(1), cfg);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 0, max: 3 }),
      fc.nat(),
      (chunk, frameInChunk, seed) => {
        const base = uniformValues(PRNGKey(seed), 12 * 16 * 16 * 3);
        const changed = base.slice();
        const frame = chunk * 4 + frameInChunk, at = frame * 16 * 16 * 3 + 5 * 16 * 3 + 3 * 3; // pixel (5, 3) of frame
        changed[at] += 0.5;
        const enc = (x: Float32Array) =>
          tf.tidy(() =>
            videoEncoder.apply(p, bb, tf.tensor(x, [1, 12, 16, 16, 3]), { config: cfg, train: false })
              .arraySync()[0]
          );
        const [a, b] = [enc(base), enc(changed)];
        for (let t = 0; t < 3; t++) {
          if (t === chunk) assert.notDeepEqual(a[t], b[t], `chunk ${t} ignored its own frame ${frame}`);
          else assert.deepEqual(a[t], b[t], `frame ${frame} of chunk ${chunk} leaked into chunk ${t}`);
        }
      },
    ),
    { numRuns: 30, seed: 5 },
  );
});

Deno.test("video encoder params hold one projection per tube kind, sized by the kernel, not by frames", () => {
  const p = videoEncoder.init(PRNGKey(0), cfg);
  assert.deepEqual(p.tubes.map((t) => t.w.shape), [[4 * 8 * 8 * 3, cfg.width.dim], [
    1 * 8 * 8 * 3,
    cfg.width.dim,
  ]]);
});
