import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { treeFlatten } from "../../transforms/tree.ts";
import {
  audioTokensPerChunk,
  type CombinerKind,
  combinerOfKind,
  forFinetuning,
  type MirasolConfig,
  tiny,
  videoTokensPerChunk,
  withCombiner,
  withFrames,
} from "../../model/config.ts";
import { exampleBatch, type MirasolBatch } from "../../model/inputs.ts";
import { forward, init, loss, type MirasolParams } from "../../model/mirasol.ts";

await setBackend("wasm");

const KINDS: readonly CombinerKind[] = ["causal_transformer", "ttm", "perceiver", "cls"];
const T = 4; // 4 chunks of 4 frames: enough chunks to perturb one in the middle
const configFor = (kind: CombinerKind): MirasolConfig =>
  withCombiner(withFrames(tiny, 4 * T, T), combinerOfKind(kind, { layers: 1, outTokens: 4 }));

Deno.test("forward returns u [B, T, n, D], x and h [B, T, m, D], logits [B, L, V] and v_small predictions [B, T, P]", () => {
  for (const kind of KINDS) {
    const c = configFor(kind);
    const out = forward(init(PRNGKey(0), c), exampleBatch(PRNGKey(1), c, { batch: 2, textLength: 5 }), {
      config: c,
      train: false,
    });
    const n = videoTokensPerChunk(c) + audioTokensPerChunk(c), D = c.width.dim;
    assert.deepEqual(out.u.shape, [2, T, n, D], kind);
    assert.deepEqual(out.x.shape, [2, T, 4, D], kind);
    assert.deepEqual(out.h.shape, [2, T, 4, D], kind);
    assert.deepEqual(out.logits.shape, [2, 5, c.text.vocab], kind);
    assert.deepEqual(out.reconstruction.video.shape, [2, T, 4 * 4 * 3], kind);
    assert.deepEqual(out.reconstruction.audio?.shape, [2, T, 4 * 4], kind);
  }
});

/** The batch with chunk t' of the video (or audio) replaced by other values. */
function perturbChunk(
  batch: MirasolBatch,
  c: MirasolConfig,
  modality: "video" | "audio",
  chunk: number,
  seed: number,
): MirasolBatch {
  const src = batch[modality]!;
  const [B, len, ...rest] = src.shape as [number, number, ...number[]];
  const per = len / c.video.chunks; // frames or columns per chunk
  const noise = exampleBatch(PRNGKey(seed), c, { batch: B })[modality]!;
  const inChunk = tf.cast(tf.equal(tf.floorDiv(tf.range(0, len, 1, "int32"), per), chunk), "float32"); // [len]
  const mask = tf.reshape(inChunk, [1, len, ...rest.map(() => 1)]);
  return { ...batch, [modality]: tf.add(tf.mul(src, tf.sub(1, mask)), tf.mul(mask, noise)) };
}

// Full-model properties run 20 cases each (a forward pass pair per case, four Combiners), fixed seed 47.
for (const kind of KINDS) {
  Deno.test(`full model with the ${kind} Combiner: changing video or audio of chunk t' leaves x_t and h_t (t < t') bit-identical; text logits change`, () => {
    const c = configFor(kind);
    const p = init(PRNGKey(2), c);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: T - 1 }),
        fc.constantFrom("video" as const, "audio" as const),
        fc.nat(),
        (tp, modality, seed) => {
          const batch = exampleBatch(PRNGKey(seed), c, { batch: 1, textLength: 6 });
          const changed = perturbChunk(batch, c, modality, tp, seed + 1);
          const a = forward(p, batch, { config: c, train: false }),
            b = forward(p, changed, { config: c, train: false });
          const [xa, xb, ha, hb] = [a.x, b.x, a.h, b.h].map((t) => t.arraySync()[0]);
          for (let t = 0; t < tp; t++) {
            assert.deepEqual(xb[t], xa[t], `${modality} of chunk ${tp} leaked into x_${t}`);
            assert.deepEqual(hb[t], ha[t], `${modality} of chunk ${tp} leaked into h_${t}`);
          }
          assert.notDeepEqual(xb[tp], xa[tp], `x_${tp} ignored its own ${modality}`);
          assert.notDeepEqual(
            b.logits.arraySync(),
            a.logits.arraySync(),
            "text cross-attends to all of h, so it must change",
          );
          tf.dispose([a, b, changed, batch] as unknown as tf.Tensor[]);
        },
      ),
      { numRuns: 20, seed: 47 },
    );
  });
}

/** Paths of leaves whose gradient is zero everywhere. */
function deadLeaves(p: MirasolParams, c: MirasolConfig, seed = 3): string[] {
  const batch = exampleBatch(PRNGKey(seed), c, { batch: 2, textLength: 6 });
  const f = (q: MirasolParams) => loss(q, batch, { config: c, train: true, key: PRNGKey(seed + 1) }).total;
  const { grads } = valueAndGrad(f)(p);
  const { leaves, paths } = treeFlatten(grads as never);
  return paths.filter((_, i) => tf.max(tf.abs(leaves[i] as tf.Tensor)).dataSync()[0] === 0);
}

for (const kind of KINDS) {
  Deno.test(`gradients reach every parameter leaf with the ${kind} Combiner`, () => {
    const c = configFor(kind);
    assert.deepEqual(deadLeaves(init(PRNGKey(4), c), c), []);
  });
}

Deno.test("gradients reach every leaf with separate backbones and an untied text output", () => {
  const c = {
    ...configFor("causal_transformer"),
    shareBackbone: false,
    text: { ...tiny.text, tieEmbeddings: false },
  };
  const p = init(PRNGKey(5), c);
  assert.ok(p.text_decoder.output && p.video_encoder.backbone && p.audio_encoder!.backbone);
  assert.deepEqual(deadLeaves(p, c), []);
});

Deno.test("a branch switched off by its loss weight gets no gradient, and only that branch (the check can fail)", () => {
  const c = { ...configFor("causal_transformer"), losses: { latent: 1, reconstruction: 0, text: 1 } };
  const dead = deadLeaves(init(PRNGKey(6), c), c);
  assert.ok(dead.length > 0 && dead.every((path) => path.startsWith("reconstruction/")), dead.join(", "));
});

Deno.test("loss returns finite terms and total = weighted sum; finetuning weighs text x10", () => {
  const c = configFor("causal_transformer");
  const p = init(PRNGKey(7), c), batch = exampleBatch(PRNGKey(8), c);
  const read = (o: Record<string, tf.Tensor>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, v.dataSync()[0]]));
  const pre = read(loss(p, batch, { config: c, train: false }));
  const fine = read(loss(p, batch, { config: forFinetuning(c), train: false }));
  for (const v of Object.values(pre)) assert.ok(Number.isFinite(v));
  assert.ok(Math.abs(pre.total - (pre.latent + pre.reconstruction + pre.text)) < 1e-5);
  assert.ok(Math.abs(fine.total - (pre.latent + pre.reconstruction + 10 * pre.text)) < 1e-4);
  assert.ok(pre.text > Math.log(c.text.vocab) / 2, "an untrained model cannot predict text");
});

Deno.test("forward without train is deterministic; training masks the Combiner outputs, which changes h", () => {
  const c = configFor("causal_transformer");
  const p = init(PRNGKey(9), c), batch = exampleBatch(PRNGKey(10), c);
  const h = (train: boolean, key?: number) =>
    forward(p, batch, { config: c, train, key: key === undefined ? undefined : PRNGKey(key) }).h.arraySync();
  assert.deepEqual(h(false), h(false, 1));
  assert.notDeepEqual(h(true, 1), h(false));
  assert.deepEqual(h(true, 1), h(true, 1));
  assert.ok(h(true, 2).flat(4).every(Number.isFinite));
  assert.throws(() => h(true), /no key/);
});

Deno.test("latentStopGradient makes x_{t+1} a constant target: the Combiner's gradient from the latent loss changes", () => {
  const base = {
    ...configFor("causal_transformer"),
    losses: { latent: 1, reconstruction: 0, text: 0 },
    combinerMaskRatio: 0,
  };
  const p = init(PRNGKey(11), base), batch = exampleBatch(PRNGKey(12), base);
  const combinerGrad = (stop: boolean) => {
    const c = { ...base, latentStopGradient: stop };
    const { grads } = valueAndGrad((q: MirasolParams) => loss(q, batch, { config: c, train: false }).total)(
      p,
    );
    return (grads.combiner as { layers: { ln_final: { bias: tf.Tensor } } }).layers.ln_final.bias.arraySync();
  };
  assert.notDeepEqual(combinerGrad(true), combinerGrad(false));
});

Deno.test("Tab. 5a ablation without the Combiner: x = u, the latent model sees every token, causality and gradients hold", () => {
  const c = configFor("none");
  const p = init(PRNGKey(13), c);
  assert.deepEqual(Object.keys(p.combiner), []);
  const batch = exampleBatch(PRNGKey(14), c, { batch: 1 });
  const a = forward(p, batch, { config: c, train: false });
  assert.deepEqual(a.x.arraySync(), a.u.arraySync());
  const b = forward(p, perturbChunk(batch, c, "video", 2, 15), { config: c, train: false });
  assert.deepEqual(b.h.arraySync()[0].slice(0, 2), a.h.arraySync()[0].slice(0, 2));
  assert.deepEqual(deadLeaves(p, c), []);
});

Deno.test("Tab. 5a ablation without the latent model: no latent params, h = x, latent loss 0, gradients reach the rest", () => {
  const c = { ...configFor("causal_transformer"), latentDepth: 0 };
  const p = init(PRNGKey(16), c);
  assert.equal(p.latent, undefined);
  const batch = exampleBatch(PRNGKey(17), c);
  const out = forward(p, batch, { config: c, train: true, key: PRNGKey(18) });
  assert.deepEqual(out.h.arraySync(), out.x.arraySync());
  assert.equal(loss(p, batch, { config: c, train: false }).latent.dataSync()[0], 0);
  assert.deepEqual(deadLeaves(p, c), []);
});

Deno.test("forward and a gradient of loss leave no tensors behind", () => {
  const c = configFor("ttm");
  const p = init(PRNGKey(19), c), batch = exampleBatch(PRNGKey(20), c);
  const before = tf.memory().numTensors;
  tf.dispose(
    forward(p, batch, { config: c, train: true, key: PRNGKey(21) }) as unknown as tf.TensorContainer,
  );
  const { value, grads } = valueAndGrad((q: MirasolParams) =>
    loss(q, batch, { config: c, train: true, key: PRNGKey(22) }).total
  )(p);
  tf.dispose([value, grads] as unknown as tf.TensorContainer);
  assert.equal(tf.memory().numTensors, before);
});
