import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { normalValues, PRNGKey, uniformValues } from "../../transforms/random.ts";
import * as combiner from "../../model/combiner/mod.ts";
import { combinerMask, latentMask, maskedPerChunk, sampleKeep } from "../../model/combiner_masking.ts";
import {
  type CombinerKind,
  combinerOfKind,
  type MirasolConfig,
  tiny,
  withCombiner,
  withFrames,
} from "../../model/config.ts";
import { audioTokensPerChunk, videoTokensPerChunk } from "../../model/config.ts";
import { slotPlan } from "../../model/combiner/slots.ts";
import * as latent from "../../model/latent.ts";
import * as transformer from "../../model/layers/transformer.ts";
import { chunkCausalMask } from "../../model/masks.ts";

await setBackend("wasm");

const KINDS: readonly CombinerKind[] = ["causal_transformer", "ttm", "perceiver", "cls"];
const T = 4, n = 12, m = 4, D = tiny.width.dim, B = 2;
const configFor = (kind: CombinerKind, chunks = T): MirasolConfig =>
  withCombiner(withFrames(tiny, 4 * chunks, chunks), combinerOfKind(kind, { layers: 2, outTokens: m }));
const randomU = (seed: number, chunks = T) => normalValues(PRNGKey(seed), B * chunks * n * D);

// 20 cases per Combiner (two applies each), fixed seed 31: cheap enough, and each case checks all t < t'.
for (const kind of KINDS) {
  Deno.test(`${kind} Combiner: x_t depends only on u_1..u_t (perturbing chunk t' leaves every x_t, t < t', bit-identical)`, () => {
    const c = configFor(kind);
    const p = combiner.init(PRNGKey(1), c);
    fc.assert(
      fc.property(fc.integer({ min: 1, max: T - 1 }), fc.nat(), (tp, seed) => {
        const u = randomU(seed);
        const changed = u.slice();
        const noise = normalValues(PRNGKey(seed + 1), n * D);
        for (let b = 0; b < B; b++) {
          for (let i = 0; i < n * D; i++) changed[((b * T + tp) * n) * D + i] += noise[i];
        }
        const run = (x: Float32Array) =>
          tf.tidy(() =>
            combiner.apply(p, tf.tensor(x, [B, T, n, D]), { config: c, train: false }).arraySync()
          );
        const [a, b] = [run(u), run(changed)];
        assert.deepEqual([a.length, a[0].length, a[0][0].length, a[0][0][0].length], [B, T, m, D]);
        for (let s = 0; s < B; s++) {
          for (let t = 0; t < tp; t++) assert.deepEqual(b[s][t], a[s][t], `chunk ${tp} leaked into x_${t}`);
          assert.notDeepEqual(b[s][tp], a[s][tp], `x_${tp} ignored its own chunk`);
        }
      }),
      { numRuns: 20, seed: 31 },
    );
  });
}

Deno.test("the causal Transformer Combiner keeps the last video and the last audio outputs of each chunk of a chunk-causal stack", () => {
  const c = configFor("causal_transformer");
  const p = combiner.init(PRNGKey(2), c) as combiner.causalTransformer.CausalTransformerCombinerParams;
  const u = tf.tensor(randomU(3), [B, T, n, D]);
  const x = combiner.apply(p, u, { config: c, train: false });
  // Oracle: the same stack on [B, T*n, D] (with the chunk-time sinusoid); of each chunk, the last
  // `video` outputs of the video block and the last `audio` of the audio block (slots.ts).
  const ref = tf.tidy(() => {
    const pos = tf.reshape(
      tf.tensor2d(
        Array.from(
          { length: T },
          (_, t) =>
            Array.from(
              { length: D },
              (_, i) => (i < D / 2
                ? Math.sin(t * Math.pow(10000, -i / (D / 2)))
                : Math.cos(t * Math.pow(10000, -(i - D / 2) / (D / 2)))),
            ),
        ),
      ),
      [1, T, 1, D],
    );
    const y = transformer.applyStack(p.layers, tf.reshape(tf.add(u, pos), [B, T * n, D]), {
      mask: chunkCausalMask(T, n),
    });
    const plan = slotPlan(c), f = videoTokensPerChunk(c);
    assert.equal(f + audioTokensPerChunk(c), n);
    assert.equal(plan.video + plan.audio, m);
    assert.ok(plan.video > 0 && plan.audio > 0, "both modalities keep slots");
    const keep = [
      ...Array.from({ length: plan.video }, (_, i) => f - plan.video + i),
      ...Array.from({ length: plan.audio }, (_, i) => n - plan.audio + i),
    ];
    return tf.gather(tf.reshape(y, [B, T, n, D]), keep, 2);
  });
  assert.ok(tf.max(tf.abs(tf.sub(x, ref))).dataSync()[0] < 1e-5);
});

Deno.test("TTM: the state carried between steps is the memory [B, S, D], the same size whatever T is", () => {
  const sizes = [1, 2, 3, 5, 8].map((chunks) => {
    const c = configFor("ttm", chunks);
    const p = combiner.init(PRNGKey(4), c) as combiner.ttm.TtmCombinerParams;
    const { x, state } = combiner.ttm.applyWithState(p, tf.tensor(randomU(5, chunks), [B, chunks, n, D]), {
      config: c,
      train: false,
    });
    assert.deepEqual(x.shape, [B, chunks, m, D]);
    return JSON.stringify(Object.entries(state).map(([k, v]) => [k, v.shape]));
  });
  assert.equal(new Set(sizes).size, 1, `state sizes vary with T: ${sizes.join(" ")}`);
  const c = configFor("ttm");
  assert.equal(
    sizes[0],
    JSON.stringify([["memory", [B, c.combiner.kind === "ttm" ? c.combiner.memoryTokens : 0, D]]]),
  );
});

Deno.test("TTM: stepping chunk by chunk (streaming) gives exactly the x of the whole-sequence apply", () => {
  const c = configFor("ttm");
  const p = combiner.init(PRNGKey(6), c) as combiner.ttm.TtmCombinerParams;
  const u = tf.tensor(randomU(7), [B, T, n, D]);
  const whole = combiner.apply(p, u, { config: c, train: false }).arraySync();
  let state = combiner.ttm.initState(p, B);
  for (let t = 0; t < T; t++) {
    const step = combiner.ttm.step(
      p,
      state,
      tf.reshape(tf.slice(u, [0, t, 0, 0], [B, 1, n, D]), [B, n, D]),
      t,
      { train: false },
    );
    // Each step sees [memory (S tokens), u_t (n tokens)] only: its input size does not grow with t.
    assert.deepEqual(step.state.memory.shape, state.memory.shape);
    assert.deepEqual(step.x.arraySync(), whole.map((s) => s[t]));
    state = step.state;
  }
});

// 20 random inputs per kind (fixed seed 37): each part's own initState/step is its incremental form.
for (const kind of [...KINDS, "none"] as const) {
  Deno.test(`${kind} Combiner: initState/step chunk by chunk gives the x_t of apply on the whole sequence (1e-5)`, () => {
    const c = kind === "none" ? withCombiner(withFrames(tiny, 4 * T, T), { kind }) : configFor(kind);
    const p = combiner.init(PRNGKey(6), c);
    fc.assert(
      fc.property(fc.nat(), (seed) => {
        const worst = tf.tidy(() => {
          const u = tf.tensor(randomU(seed), [B, T, n, D]) as tf.Tensor4D;
          const whole = combiner.apply(p, u, { config: c, train: false });
          let state = combiner.initState(p, c, B), worst = 0;
          for (let t = 0; t < T; t++) {
            const ut = tf.reshape(tf.slice(u, [0, t, 0, 0], [B, 1, n, D]), [B, n, D]) as tf.Tensor3D;
            const out = combiner.step(p, state, ut, t);
            const want = tf.reshape(tf.slice(whole, [0, t, 0, 0], [B, 1, -1, D]), out.x.shape);
            worst = Math.max(worst, tf.max(tf.abs(tf.sub(out.x, want))).dataSync()[0]);
            state = out.state;
          }
          return worst;
        });
        assert.ok(worst < 1e-5, `streamed x differs by ${worst}`);
      }),
      { numRuns: 20, seed: 37 },
    );
  });
}

Deno.test("latent model: initState/step chunk by chunk gives the h_t of apply under the chunk-causal mask (1e-5)", () => {
  const c = configFor("causal_transformer");
  const p = latent.init(PRNGKey(11), c);
  fc.assert(
    fc.property(fc.nat(), (seed) => {
      const worst = tf.tidy(() => {
        const x = tf.tensor(normalValues(PRNGKey(seed), B * T * m * D), [B, T, m, D]);
        const whole = latent.apply(p, x, { mask: latentMask(T, m), train: false });
        let state = latent.initState(), worst = 0;
        for (let t = 0; t < T; t++) {
          const xt = tf.reshape(tf.slice(x, [0, t, 0, 0], [B, 1, m, D]), [B, m, D]) as tf.Tensor3D;
          const out = latent.step(p, state, xt, t);
          const want = tf.reshape(tf.slice(whole, [0, t, 0, 0], [B, 1, m, D]), [B, m, D]);
          worst = Math.max(worst, tf.max(tf.abs(tf.sub(out.h, want))).dataSync()[0]);
          state = out.state;
        }
        return worst;
      });
      assert.ok(worst < 1e-5, `streamed h differs by ${worst}`);
    }),
    { numRuns: 20, seed: 41 },
  );
});

Deno.test("Combiner outputs are finite for every kind", () => {
  for (const kind of KINDS) {
    const c = configFor(kind);
    const x = combiner.apply(combiner.init(PRNGKey(8), c), tf.tensor(randomU(9), [B, T, n, D]), {
      config: c,
      train: false,
    });
    assert.ok(tf.all(tf.isFinite(x)).dataSync()[0], kind);
  }
});

// ---- Combiner-output masking (§3.6) ----

Deno.test("masking hides round(ratio*m) tokens per chunk, never all of them, and every attention row sees a key (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 5 }),
      fc.integer({ min: 1, max: 8 }),
      fc.double({ min: 0, max: 0.99, noNaN: true }),
      fc.nat(),
      (batch, chunks, tokens, ratio, seed) => {
        const keepTensor = sampleKeep(PRNGKey(seed), { batch, chunks, tokens }, ratio);
        const keep = keepTensor.dataSync() as Uint8Array;
        const masked = maskedPerChunk(tokens, ratio);
        assert.ok(masked <= tokens - 1 && masked === Math.min(tokens - 1, Math.round(ratio * tokens)));
        for (let c = 0; c < batch * chunks; c++) {
          const kept = keep.slice(c * tokens, (c + 1) * tokens).reduce((a, b) => a + b, 0);
          assert.equal(kept, tokens - masked);
        }
        const len = chunks * tokens;
        const mask = latentMask(chunks, tokens, keepTensor).dataSync();
        keepTensor.dispose();
        for (let b = 0; b < batch; b++) {
          for (let i = 0; i < len; i++) {
            let seen = 0;
            for (let j = 0; j < len; j++) {
              const v = mask[(b * len + i) * len + j];
              if (Math.floor(j / tokens) > Math.floor(i / tokens)) {
                assert.equal(v, 0, "mask must stay chunk-causal");
              } else assert.equal(v, keep[b * len + j], "a key is visible iff it is kept");
              seen += v;
            }
            assert.ok(seen >= 1, `row ${i} of sample ${b} sees nothing`);
          }
        }
      },
    ),
    { numRuns: 100, seed: 41 },
  );
});

/** The rule in host code: per chunk, a stable sort of the draws; the first `masked` are hidden. */
function keepOracle(u: Float32Array, rows: number, m: number, masked: number): Uint8Array {
  const keep = new Uint8Array(rows * m).fill(1);
  for (let c = 0; c < rows; c++) {
    const order = Array.from({ length: m }, (_, j) => j).sort((a, b) => u[c * m + a] - u[c * m + b]);
    for (let j = 0; j < masked; j++) keep[c * m + order[j]] = 0;
  }
  return keep;
}

Deno.test("the keep mask (tensor ops) hides exactly the smallest draws of each chunk, ties to the lower index (property)", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 1, max: 4 }),
      fc.integer({ min: 1, max: 32 }),
      fc.double({ min: 0, max: 0.99, noNaN: true }),
      fc.nat(),
      (batch, chunks, tokens, ratio, seed) => {
        const key = PRNGKey(seed);
        const got = tf.tidy(() => sampleKeep(key, { batch, chunks, tokens }, ratio).dataSync());
        const u = uniformValues(key, batch * chunks * tokens);
        assert.deepEqual(
          Array.from(got),
          Array.from(keepOracle(u, batch * chunks, tokens, maskedPerChunk(tokens, ratio))),
        );
      },
    ),
    { numRuns: 100, seed: 43 },
  );
  // Ties: equal draws are ordered by index, as a stable sort orders them.
  assert.deepEqual(Array.from(keepOracle(new Float32Array([0.5, 0.5, 0.5, 0.1]), 1, 4, 2)), [0, 1, 1, 0]);
});

Deno.test("nothing is masked when train is false, or when the ratio is 0", () => {
  const plain = latentMask(T, m).arraySync();
  for (const opts of [{ train: false, ratio: 0.75 }, { train: true, ratio: 0, key: PRNGKey(1) }]) {
    const { mask, keep } = combinerMask(opts, { batch: B, chunks: T, tokens: m });
    assert.equal(keep, undefined);
    assert.deepEqual(mask.arraySync(), plain);
  }
  assert.throws(
    () => combinerMask({ train: true, ratio: 0.75 }, { batch: B, chunks: T, tokens: m }),
    /no key/,
  );
});

Deno.test("a masked token is hidden from the latent model as a key; h stays finite", () => {
  const c = configFor("causal_transformer");
  const p = latent.init(PRNGKey(10), c);
  const { mask, keep } = combinerMask({ train: true, ratio: 0.75, key: PRNGKey(11) }, {
    batch: B,
    chunks: T,
    tokens: m,
  });
  const x = normalValues(PRNGKey(12), B * T * m * D);
  const run = (v: Float32Array) =>
    tf.tidy(() => latent.apply(p, tf.tensor(v, [B, T, m, D]), { mask, train: false }).arraySync());
  const h = run(x);
  assert.ok(h.flat(3).every(Number.isFinite));
  const keepFlags = keep!.dataSync() as Uint8Array;
  const maskedAt = keepFlags.findIndex((k, i) => k === 0 && i < T * m); // a masked token of sample 0
  const keptAt = keepFlags.findIndex((k, i) =>
    k === 1 && i < T * m && Math.floor(i / m) === Math.floor(maskedAt / m)
  );
  const bumped = (at: number) => {
    const v = x.slice();
    for (let i = 0; i < D; i++) v[at * D + i] += 1;
    return run(v)[0];
  };
  const hm = bumped(maskedAt), hk = bumped(keptAt);
  for (let j = 0; j < T * m; j++) {
    const [t, i] = [Math.floor(j / m), j % m];
    if (j !== maskedAt) {
      assert.deepEqual(hm[t][i], h[0][t][i], `masked token ${maskedAt} was read by query ${j}`);
    }
  }
  const sameChunkOther = Math.floor(keptAt / m) * m + ((keptAt + 1) % m);
  assert.notDeepEqual(
    hk[Math.floor(sameChunkOther / m)][sameChunkOther % m],
    h[0][Math.floor(sameChunkOther / m)][sameChunkOther % m],
  );
});
