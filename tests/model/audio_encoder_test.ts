import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { normalValues, PRNGKey } from "../../transforms/random.ts";
import { treeMap } from "../../transforms/tree.ts";
import * as audioEncoder from "../../model/audio_encoder.ts";
import { audioTokensPerChunk, type MirasolConfig, tiny, withFrames } from "../../model/config.ts";
import { encode, init, type MirasolParams } from "../../model/mirasol.ts";
import { exampleBatch } from "../../model/inputs.ts";
import * as videoEncoder from "../../model/video_encoder.ts";

await setBackend("wasm");

Deno.test("audio patches equal a naive cut of each chunk's K*r columns into (columns x bins) patches (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }), // T
      fc.integer({ min: 1, max: 3 }), // K
      fc.constantFrom(1, 2, 4), // r
      fc.constantFrom([4, 4], [4, 2], [8, 8], [6, 3]), // [melBins, patchBins]
      fc.nat(),
      (T, K, r, [F, pb], seed) => {
        const columns = K * r;
        const pc = [1, 2, 4].filter((d) => columns % d === 0).at(-1)!;
        // Only the chunking and the audio fields matter to `patches` (the rest of tiny would not fit).
        const c: MirasolConfig = {
          ...tiny,
          video: { ...tiny.video, frames: K * T, chunks: T },
          audio: { columnsPerFrame: r, melBins: F, patchColumns: pc, patchBins: pb },
        };
        const cols = columns, B = 2, x = normalValues(PRNGKey(seed), B * T * cols * F);
        const got = tf.tidy(() => audioEncoder.patches(tf.tensor(x, [B, T * cols, F]), c).arraySync());
        const want: number[][][] = [];
        for (let b = 0; b < B; b++) {
          for (let t = 0; t < T; t++) {
            const chunk: number[][] = [];
            for (let i = 0; i < cols / pc; i++) {
              for (let j = 0; j < F / pb; j++) {
                const v: number[] = [];
                for (let dc = 0; dc < pc; dc++) {
                  for (let db = 0; db < pb; db++) {
                    v.push(x[(b * T * cols + t * cols + i * pc + dc) * F + j * pb + db]);
                  }
                }
                chunk.push(v);
              }
            }
            want.push(chunk);
          }
        }
        assert.deepEqual(got, want);
        assert.equal(got[0].length, audioTokensPerChunk(c));
        assert.equal(audioEncoder.patchCentres(c).length, audioTokensPerChunk(c));
      },
    ),
    { numRuns: 100, seed: 23 },
  );
});

const cfg = withFrames(tiny, 12, 3); // T = 3, K = 4, 16 columns per chunk

Deno.test("chunk t of the audio encoding depends only on the K*r columns of chunk t", () => {
  const p = audioEncoder.init(PRNGKey(0), cfg), bb = videoEncoder.initBackbone(PRNGKey(1), cfg);
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 47 }),
      fc.integer({ min: 0, max: 7 }),
      fc.nat(),
      (column, bin, seed) => {
        const base = normalValues(PRNGKey(seed), 48 * 8);
        const changed = base.slice();
        changed[column * 8 + bin] += 1;
        const enc = (x: Float32Array) =>
          tf.tidy(() =>
            audioEncoder.apply(p, bb, tf.tensor(x, [1, 48, 8]), { config: cfg, train: false }).arraySync()[0]
          );
        const [a, b] = [enc(base), enc(changed)];
        const chunk = Math.floor(column / 16);
        for (let t = 0; t < 3; t++) {
          if (t === chunk) assert.notDeepEqual(a[t], b[t]);
          else assert.deepEqual(a[t], b[t], `column ${column} (chunk ${chunk}) leaked into chunk ${t}`);
        }
      },
    ),
    { numRuns: 30, seed: 9 },
  );
});

/** The same params with one subtree scaled, so we can see which encodings depend on it. */
function bump(p: MirasolParams, path: RegExp): MirasolParams {
  return treeMap(
    p,
    (leaf, at) => (path.test(at) ? tf.mul(leaf as tf.Tensor, 1.5) : leaf),
  ) as unknown as MirasolParams;
}

Deno.test("with shareBackbone, audio goes through the SAME backbone weights as video (§3.1)", () => {
  const p = init(PRNGKey(0), tiny);
  assert.ok(p.backbone && !p.video_encoder.backbone && !p.audio_encoder!.backbone);
  const batch = exampleBatch(PRNGKey(1), tiny);
  const split = (q: MirasolParams) =>
    tf.tidy(() => {
      const u = encode(q, batch, { config: tiny, train: false }); // [B, T, f+s, D]
      const f = u.shape[2] - audioTokensPerChunk(tiny);
      return [
        tf.slice(u, [0, 0, 0, 0], [-1, -1, f, -1]).arraySync(),
        tf.slice(u, [0, 0, f, 0], [-1, -1, -1, -1]).arraySync(),
      ];
    });
  const [v0, a0] = split(p);
  const [v1, a1] = split(bump(p, /^backbone\/blocks\/0\/mlp\/fc1\/w$/));
  assert.notDeepEqual(v1, v0, "video must use the shared backbone");
  assert.notDeepEqual(a1, a0, "audio must use the shared backbone");
});

Deno.test("with shareBackbone false, each modality has its own backbone and uses only it", () => {
  const c = { ...tiny, name: "tiny/unshared", shareBackbone: false };
  const p = init(PRNGKey(0), c);
  assert.ok(!p.backbone && p.video_encoder.backbone && p.audio_encoder!.backbone);
  const batch = exampleBatch(PRNGKey(1), c);
  const audioOf = (q: MirasolParams) =>
    tf.tidy(() =>
      audioEncoder.apply(q.audio_encoder!, q.audio_encoder!.backbone!, batch.audio, {
        config: c,
        train: false,
      })
        .arraySync()
    );
  assert.deepEqual(audioOf(bump(p, /^video_encoder\/backbone\//)), audioOf(p));
  assert.notDeepEqual(audioOf(bump(p, /^audio_encoder\/backbone\/blocks\/0\/mlp\/fc1\/w$/)), audioOf(p));
});
