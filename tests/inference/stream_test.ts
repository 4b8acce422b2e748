import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeLeaves } from "../../transforms/tree.ts";
import {
  type CombinerKind,
  combinerOfKind,
  framesPerChunk,
  type MirasolConfig,
  tiny,
  withCombiner,
  withFrames,
} from "../../model/config.ts";
import { ConfigError } from "../../model/errors.ts";
import { exampleBatch, type MirasolBatch } from "../../model/inputs.ts";
import { forward, init, type MirasolParams } from "../../model/mirasol.ts";
import { generate } from "../../inference/generate.ts";
import { createStream, type MediaChunk, streamTensors } from "../../inference/stream.ts";

await setBackend("wasm");

const KINDS: readonly CombinerKind[] = ["causal_transformer", "ttm", "perceiver", "cls", "none"];
const K = framesPerChunk(tiny), r = tiny.audio.columnsPerFrame;
const configFor = (kind: CombinerKind, T: number, depth = 1): MirasolConfig =>
  withCombiner(withFrames(tiny, K * T, T), combinerOfKind(kind, { layers: depth, outTokens: 4 }));

/** Chunk t of a batch: frames tK..tK+K-1 and their K*r audio columns. */
function chunkOf(batch: MirasolBatch, t: number): MediaChunk {
  const [B, , H, W] = batch.video.shape;
  const F = batch.audio!.shape[2] ?? 0;
  return {
    video: tf.slice(batch.video, [0, t * K, 0, 0, 0], [B, K, H, W, 3]),
    audio: tf.slice(batch.audio!, [0, t * K * r, 0], [B, K * r, F]),
  };
}

const maxDiff = (a: tf.Tensor, b: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
const chunkSlice = (x: tf.Tensor, t: number) => {
  const [B, , m, D] = x.shape;
  return tf.reshape(tf.slice(x, [0, t, 0, 0], [B, 1, m, D]), [B, m, D]);
};
const disposeParams = (p: MirasolParams) => tf.dispose(treeLeaves(p as Tree));

// Per Combiner 20 random cases (fixed seed 23): T in 1..4, random params and inputs. 20, not the
// usual 100, keeps the five properties (each a full forward plus T stream steps) within seconds.
for (const kind of KINDS) {
  Deno.test(`${kind}: streaming chunks 1..T gives the x_t and h_t (1e-5) of forward on the whole video`, () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 2 }),
        fc.nat(1 << 20),
        (T, B, seed) => {
          const c = configFor(kind, T);
          const params = init(PRNGKey(seed), c);
          const batch = exampleBatch(PRNGKey(seed + 1), c, { batch: B, textLength: 3 });
          const full = forward(params, batch, { config: c, train: false });
          const stream = createStream(params, c);
          try {
            for (let t = 0; t < T; t++) {
              const chunk = chunkOf(batch, t);
              const { x, h } = stream.push(chunk);
              const dx = maxDiff(x, chunkSlice(full.x, t)), dh = maxDiff(h, chunkSlice(full.h, t));
              assert.ok(
                dx <= 1e-5 && dh <= 1e-5,
                `T=${T} t=${t}: |x - x_full| = ${dx}, |h - h_full| = ${dh}`,
              );
              tf.dispose([x, h, chunk.video, chunk.audio]);
            }
            assert.ok(maxDiff(stream.context(), full.h) <= 1e-5, "context() is not h_1..h_T");
          } finally {
            stream.dispose();
            tf.dispose([
              ...Object.values(full).flatMap((v) => (v instanceof tf.Tensor ? [v] : Object.values(v))),
              ...Object.values(batch),
            ]);
            disposeParams(params);
          }
        },
      ),
      { numRuns: 20, seed: 23 },
    );
  });
}

/** Tensors the stream needs after any chunk: its caches and h_1..h_t (one tensor). */
function cacheTensors(kind: CombinerKind, c: MirasolConfig): number {
  const R = kind === "none" ? 0 : c.combiner.kind === "none" ? 0 : c.combiner.layers;
  const combiner = { causal_transformer: 2 * R, cls: 2 * R, perceiver: 4 * R, ttm: 1, none: 0 }[kind];
  return combiner + 2 * c.latentDepth + 1;
}

for (const kind of KINDS) {
  Deno.test(`${kind}: after every chunk the stream holds only its caches (a count that does not grow with T); ask leaks nothing`, () => {
    const T = 5, c = configFor(kind, T, 2);
    const params = init(PRNGKey(3), c);
    const batch = exampleBatch(PRNGKey(4), c, { batch: 2, textLength: 2 });
    const base = tf.memory().numTensors;
    const stream = createStream(params, c);
    const sizes: number[] = [];
    for (let t = 0; t < T; t++) {
      const chunk = chunkOf(batch, t);
      const { x, h } = stream.push(chunk);
      tf.dispose([x, h, chunk.video, chunk.audio]);
      assert.equal(tf.memory().numTensors - base, cacheTensors(kind, c), `after chunk ${t + 1}`);
      assert.equal(streamTensors(stream.state()).length, cacheTensors(kind, c));
      sizes.push(streamTensors(stream.state()).reduce((n, x) => n + x.size, 0));
    }
    if (kind === "ttm") {
      // Only h_1..h_t grows: the Combiner state is the memory, the same size at every chunk.
      const growth = sizes.slice(1).map((s, i) => s - sizes[i]);
      assert.ok(growth.every((g) => g === growth[0]), `TTM stream grew unevenly: ${growth}`);
    }
    stream.ask([2, 3], { maxLen: 4, eos: 1, strategy: { kind: "beam", beamSize: 2, lengthPenalty: 0.6 } });
    assert.equal(tf.memory().numTensors - base, cacheTensors(kind, c), "ask leaked");
    stream.dispose();
    assert.equal(tf.memory().numTensors, base, "dispose left tensors behind");
    tf.dispose(Object.values(batch));
    disposeParams(params);
  });
}

Deno.test("the TTM stream's Combiner state is its memory [B, S, D] alone, the same shape after every chunk", () => {
  const c = configFor("ttm", 4);
  const params = init(PRNGKey(5), c);
  const batch = exampleBatch(PRNGKey(6), c, { batch: 2 });
  const stream = createStream(params, c);
  for (let t = 0; t < 4; t++) {
    tf.dispose(Object.values(stream.push(chunkOf(batch, t))));
    const s = stream.state().combiner;
    assert.ok(s?.kind === "ttm");
    assert.deepEqual(s.state.memory.shape, [
      2,
      c.combiner.kind === "ttm" ? c.combiner.memoryTokens : -1,
      c.width.dim,
    ]);
  }
  stream.dispose();
  disposeParams(params);
});

Deno.test("ask after t chunks answers about chunks 1..t: it equals generate on the t-chunk video", () => {
  for (const kind of ["causal_transformer", "ttm"] as const) {
    const T = 3, c = configFor(kind, T);
    const params = init(PRNGKey(7), c);
    const batch = exampleBatch(PRNGKey(8), c, { batch: 2 });
    const stream = createStream(params, c);
    assert.throws(() => stream.ask([2], { maxLen: 3, eos: 1, strategy: { kind: "greedy" } }), ConfigError);
    for (let t = 1; t <= T; t++) {
      tf.dispose(Object.values(stream.push(chunkOf(batch, t - 1))));
      const ct = configFor(kind, t);
      const prefix = {
        video: tf.slice(batch.video, [0, 0, 0, 0, 0], [-1, t * K, -1, -1, -1]),
        audio: tf.slice(batch.audio!, [0, 0, 0], [-1, t * K * r, -1]),
      };
      const opts = { maxLen: 6, eos: 1, strategy: { kind: "greedy" } as const };
      const asked = stream.ask([[2, 9], [4]], opts);
      const direct = generate(params, prefix, [[2, 9], [4]], { ...opts, config: ct });
      asked.forEach((a, i) => {
        assert.deepEqual(a.tokens, direct[i].tokens, `${kind} after ${t} chunks, row ${i}`);
        a.logProbs.forEach((lp, j) => assert.ok(Math.abs(lp - direct[i].logProbs[j]) < 1e-5));
      });
      tf.dispose(Object.values(prefix));
    }
    stream.dispose();
    assert.throws(() => stream.push(chunkOf(batch, 0)), ConfigError);
    disposeParams(params);
  }
});

Deno.test("a chunk of the wrong size or batch is rejected before any state changes", () => {
  const c = configFor("causal_transformer", 2);
  const params = init(PRNGKey(9), c);
  const batch = exampleBatch(PRNGKey(10), c, { batch: 2 });
  const stream = createStream(params, c);
  tf.dispose(Object.values(stream.push(chunkOf(batch, 0))));
  const whole = { video: batch.video, audio: batch.audio }; // 2 chunks at once
  assert.throws(() => stream.push(whole));
  const one = chunkOf(batch, 1);
  const single = { video: tf.slice(one.video, [0], [1]), audio: tf.slice(one.audio!, [0], [1]) };
  assert.throws(() => stream.push(single), ConfigError);
  assert.equal(stream.chunks, 1);
  stream.dispose();
  disposeParams(params);
});
