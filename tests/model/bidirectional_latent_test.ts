import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey, split } from "../../transforms/random.ts";
import { type Tree, treeDispose, treeLeaves } from "../../transforms/tree.ts";
import { createStream } from "../../inference/stream.ts";
import { generate, generateFromContext } from "../../inference/generate.ts";
import {
  combinerMask,
  configs,
  exampleBatch,
  forward,
  init,
  latent,
  latentLoss,
  loss,
  mediaContext,
  type MirasolConfig,
  validateConfig,
} from "../../model/mod.ts";
import { diagonal } from "../../model/masked_chunks.ts";
import * as reconstruction from "../../model/reconstruction.ts";

await setBackend("wasm");

// Tab. 5c's "Ours + BD": the latent model attends over all chunks. x_t stays causal (the Combiner is
// unchanged); h_t of early chunks now depends on later ones.
const bidirectional: MirasolConfig = validateConfig({
  ...configs.tiny,
  name: "tiny-bd",
  latentAttention: "bidirectional",
});
const KINDS = { chunk_causal: configs.tiny, bidirectional } as const;

const maxAbs = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const chunkOf = (x: tf.Tensor, t: number) => tf.slice(x, [0, t], [-1, 1]);

function movedPerChunk(config: MirasolConfig) {
  const [kp, kb] = split(PRNGKey(4));
  const params = init(kp, config);
  const batch = exampleBatch(kb, config, { batch: 1 });
  const T = config.video.chunks, K = config.video.frames / T;
  const video2 = tf.tidy(() =>
    tf.concat([
      tf.slice(batch.video, [0, 0], [-1, (T - 1) * K]),
      tf.randomUniform([1, K, config.video.height, config.video.width, 3], 0, 1, "float32", 9),
    ], 1)
  );
  const a = forward(params, batch, { config, train: false });
  const b = forward(params, { ...batch, video: video2 }, { config, train: false });
  const moved = (x: tf.Tensor, y: tf.Tensor) =>
    Array.from({ length: T }, (_, t) => tf.tidy(() => maxAbs(chunkOf(x, t), chunkOf(y, t))));
  const out = { x: moved(a.x, b.x), h: moved(a.h, b.h) };
  treeDispose([params, a as unknown as Tree, b as unknown as Tree, video2]);
  tf.dispose(Object.values(batch));
  return out;
}

Deno.test("a bidirectional latent model lets the last chunk move h_1 while x_1 stays exactly fixed", () => {
  const bd = movedPerChunk(bidirectional);
  assert.equal(bd.x[0], 0, "x_1 must not see chunk T");
  assert.ok(bd.h[0] > 0, "h_1 sees chunk T when the latent model is bidirectional");
  const causal = movedPerChunk(configs.tiny);
  assert.equal(causal.h[0], 0, "the default latent model is chunk-causal");
});

Deno.test("the masked-chunk prediction of chunk t (latent and reconstruction) does not depend on x_t, which the plain bidirectional h_t does (property)", () => {
  const params = init(PRNGKey(11), bidirectional);
  const lp = params.latent!;
  const m = 4, D = bidirectional.width.dim;
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 2 }),
      fc.nat(),
      fc.boolean(),
      (T, B, seed, train) => {
        const t = seed % T;
        const r = tf.tidy(() => {
          const x = tf.randomNormal([B, T, m, D], 0, 1, "float32", seed) as tf.Tensor4D;
          const noise = tf.randomNormal([B, 1, m, D], 0, 3, "float32", seed + 1);
          const onlyT = tf.tensor(Float32Array.from({ length: T }, (_, i) => (i === t ? 1 : 0)), [
            1,
            T,
            1,
            1,
          ]);
          const x2 = tf.add(x, tf.mul(onlyT, noise)) as tf.Tensor4D; // x with chunk t replaced
          // Training masks (Combiner-output masking) too: the same key hides the same tokens in both.
          const mask = combinerMask({ train, ratio: 0.5, key: PRNGKey(seed), bidirectional: true }, {
            batch: B,
            chunks: T,
            tokens: m,
          }).mask;
          const run = (xs: tf.Tensor) => {
            const passes = latent.applyHidingEachChunk(lp, xs, { mask, train: false });
            const recon = reconstruction.apply(params.reconstruction, passes, { train: false });
            return {
              pred: diagonal(passes, B),
              recon: diagonal(recon.video, B),
              h: latent.apply(lp, xs, { mask, train: false }),
            };
          };
          const a = run(x), b = run(x2);
          return {
            pred: maxAbs(chunkOf(a.pred, t), chunkOf(b.pred, t)),
            recon: maxAbs(chunkOf(a.recon, t), chunkOf(b.recon, t)),
            h: maxAbs(chunkOf(a.h, t), chunkOf(b.h, t)),
            other: T > 1 ? maxAbs(chunkOf(a.pred, (t + 1) % T), chunkOf(b.pred, (t + 1) % T)) : 1,
          };
        });
        assert.ok(r.pred < 1e-5, `x_t moved its own prediction by ${r.pred}`);
        assert.ok(r.recon < 1e-5, `x_t moved its own reconstruction by ${r.recon}`);
        assert.ok(r.h > 1e-3, "the unmasked h_t reads x_t (else this test could not fail)");
        assert.ok(r.other > 1e-3, "x_t does inform the other chunks' predictions");
      },
    ),
    { numRuns: 100, seed: 18 },
  );
  treeDispose(params as Tree);
});

Deno.test("a bidirectional loss scores each chunk's masked prediction against x_t itself; a chunk-causal one h_t against x_{t+1}", () => {
  const bdParams = init(PRNGKey(2), bidirectional), causalParams = init(PRNGKey(2), configs.tiny);
  assert.equal(bdParams.latent?.mask_token?.shape[0], bidirectional.width.dim);
  assert.equal(causalParams.latent?.mask_token, undefined, "a chunk-causal latent model has no mask token");
  const batch = exampleBatch(PRNGKey(3), bidirectional);
  for (
    const [config, params, shift] of [[bidirectional, bdParams, 0], [configs.tiny, causalParams, 1]] as const
  ) {
    const out = forward(params, batch, { config, train: false });
    const l = loss(params, batch, { config, train: false });
    const want = latentLoss(out.prediction, out.x, { shift });
    assert.ok(Math.abs(l.latent.dataSync()[0] - want.dataSync()[0]) < 1e-6);
    if (shift === 1) assert.equal(maxAbs(out.prediction, out.h), 0);
    else assert.ok(maxAbs(out.prediction, out.h) > 1e-3, "the masked prediction is not h");
    // Training (masking and dropout keys) runs and is finite.
    const lt = loss(params, batch, { config, train: true, key: PRNGKey(5) });
    assert.ok(Number.isFinite(lt.total.dataSync()[0]));
    treeDispose([out as unknown as Tree, l as unknown as Tree, lt as unknown as Tree, want]);
  }
  treeDispose([bdParams as Tree, causalParams as Tree]);
  tf.dispose(Object.values(batch));
});

for (const [kind, config] of Object.entries(KINDS)) {
  Deno.test(`generate reads the h that forward computes (latentAttention ${kind}): mediaContext equals forward's h, and so do the tokens`, () => {
    const params = init(PRNGKey(7), config);
    const batch = exampleBatch(PRNGKey(8), config, { batch: 2, textLength: 2 });
    const fwd = forward(params, batch, { config, train: false });
    const ctx = mediaContext(params, batch, config);
    assert.equal(maxAbs(fwd.h, ctx), 0);
    const opts = { config, maxLen: 5, strategy: { kind: "greedy" } as const, eos: 1 };
    assert.deepEqual(generate(params, batch, [2, 3], opts), generateFromContext(params, fwd.h, [2, 3], opts));
    treeDispose([params as Tree, fwd as unknown as Tree, ctx]);
    tf.dispose(treeLeaves(batch as unknown as Tree));
  });
}

Deno.test("streaming refuses a bidirectional latent model, and validateConfig refuses an unknown attention", () => {
  const params = init(PRNGKey(0), bidirectional);
  const stream = createStream(params, bidirectional);
  const K = bidirectional.video.frames / bidirectional.video.chunks, r = bidirectional.audio!.columnsPerFrame;
  const chunk = {
    video: tf.zeros([1, K, bidirectional.video.height, bidirectional.video.width, 3]),
    audio: tf.zeros([1, K * r, bidirectional.audio!.melBins]),
  };
  assert.throws(() => stream.push(chunk), /bidirectional/);
  stream.dispose();
  treeDispose(params);
  tf.dispose(Object.values(chunk));
  assert.throws(
    () => validateConfig({ ...configs.tiny, latentAttention: "sideways" as never }),
    /latentAttention/,
  );
});
