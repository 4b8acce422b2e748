/**
 * Chunk causality of a real computation (paper Sec. 3.3.1): a random pre-LN transformer stack under
 * the chunk-causal mask. Perturbing one input token of chunk t' must leave every output of chunks
 * < t' bit-for-bit unchanged, and must change the outputs of other tokens of chunk t' (tokens of a
 * chunk interact, so the mask is block-causal, not token-causal).
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { foldIn, normal, PRNGKey } from "../../transforms/random.ts";
import { treeDispose } from "../../transforms/tree.ts";
import { chunkCausalMask } from "../../model/masks.ts";
import * as transformer from "../../model/layers/transformer.ts";

await setBackend("wasm");

type Case = {
  depth: number;
  heads: number;
  numChunks: number;
  tokensPerChunk: number;
  chunk: number;
  token: number;
  seed: number;
};

const caseArb = fc
  .record({
    depth: fc.integer({ min: 1, max: 3 }),
    heads: fc.integer({ min: 1, max: 2 }),
    numChunks: fc.integer({ min: 2, max: 4 }),
    tokensPerChunk: fc.integer({ min: 2, max: 3 }),
    seed: fc.nat(),
  })
  .chain((c) =>
    fc.record({
      chunk: fc.integer({ min: 1, max: c.numChunks - 1 }), // t' >= 1, so some earlier chunk exists
      token: fc.integer({ min: 1, max: c.tokensPerChunk - 1 }), // not the chunk's first token
    }).map((pick) => ({ ...c, ...pick }))
  );

/** Runs the stack on x and on x with one token replaced; returns both outputs on the host. */
function runPair(c: Case): { clean: Float32Array; perturbed: Float32Array; D: number } {
  const D = 8;
  const key = PRNGKey(c.seed);
  const params = transformer.initStack(foldIn(key, 0), {
    depth: c.depth,
    block: { dim: D, heads: c.heads, headDim: 4, mlpHidden: 16 },
  });
  const L = c.numChunks * c.tokensPerChunk;
  const position = c.chunk * c.tokensPerChunk + c.token;
  const out = tf.tidy(() => {
    const mask = chunkCausalMask(c.numChunks, c.tokensPerChunk);
    const x = normal(foldIn(key, 1), [1, L, D]) as tf.Tensor3D;
    const onehot = tf.reshape(tf.oneHot([position], L), [1, L, 1]); // [1, L, 1]
    const noise = normal(foldIn(key, 2), [1, 1, D]);
    const x2 = tf.add(x, tf.mul(onehot, noise)) as tf.Tensor3D; // only token `position` moves
    return [transformer.applyStack(params, x, { mask }), transformer.applyStack(params, x2, { mask })];
  });
  const [clean, perturbed] = out.map((t) => t.dataSync() as Float32Array);
  tf.dispose(out);
  treeDispose(params);
  return { clean, perturbed, D };
}

Deno.test("a chunk-causal transformer stack: perturbing a token of chunk t' changes no output of chunks < t' (bit-exact)", () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { clean, perturbed, D } = runPair(c);
      const past = c.chunk * c.tokensPerChunk * D; // entries of chunks < t'
      for (let i = 0; i < past; i++) {
        assert.ok(
          Object.is(clean[i], perturbed[i]),
          `output ${Math.floor(i / D)} (chunk ${Math.floor(i / D / c.tokensPerChunk)}) moved: ${
            clean[i]
          } -> ${perturbed[i]}`,
        );
      }
    }),
    { numRuns: 100, seed: 424242 },
  );
});

Deno.test("a chunk-causal transformer stack: an earlier token of the same chunk t' does see the perturbation", () => {
  fc.assert(
    fc.property(caseArb, (c) => {
      const { clean, perturbed, D } = runPair(c);
      const first = c.chunk * c.tokensPerChunk * D; // the chunk's first token, which precedes the perturbed one
      const moved = Array.from({ length: D }, (_, d) => Math.abs(clean[first + d] - perturbed[first + d]));
      assert.ok(
        Math.max(...moved) > 0,
        `the first token of chunk ${c.chunk} ignored token ${c.token} of its chunk`,
      );
    }),
    { numRuns: 100, seed: 434343 },
  );
});

Deno.test("the detectors can tell masks apart: no mask leaks the future, a token-causal mask hides a chunk's later tokens", () => {
  const D = 8, key = PRNGKey(3);
  const params = transformer.initStack(key, {
    depth: 2,
    block: { dim: D, heads: 2, headDim: 4, mlpHidden: 16 },
  });
  const moved = (mask: tf.Tensor | undefined, row: number) =>
    tf.tidy(() => {
      const x = normal(foldIn(key, 1), [1, 4, D]);
      const x2 = tf.add(x, tf.reshape(tf.oneHot([3], 4), [1, 4, 1])); // move token 3 (chunk 1 of 2, second token)
      const y = transformer.applyStack(params, x, { mask }),
        y2 = transformer.applyStack(params, x2, { mask });
      return tf.max(tf.abs(tf.sub(tf.slice(y, [0, row, 0], [1, 1, D]), tf.slice(y2, [0, row, 0], [1, 1, D]))))
        .dataSync()[0];
    });
  assert.ok(moved(undefined, 0) > 0, "without a mask, chunk 0 sees chunk 1");
  const tokenCausal = tf.linalg.bandPart(tf.ones([4, 4]), -1, 0);
  assert.equal(moved(tokenCausal, 2), 0, "a token-causal mask hides token 3 from token 2");
  assert.ok(moved(chunkCausalMask(2, 2), 2) > 0, "the chunk-causal mask lets token 2 see token 3");
  tokenCausal.dispose();
  treeDispose(params);
});
