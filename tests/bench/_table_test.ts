import * as tf from "@tensorflow/tfjs-core";
import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import {
  combiner,
  combinerOfKind,
  exampleBatch,
  forward,
  init,
  tiny,
  withCombiner,
} from "../../model/mod.ts";
import * as transformer from "../../model/layers/transformer.ts";
import { markdownTable, relChange, sig, TableError } from "../../bench/_table.ts";
import {
  attentionCoreFlops,
  blockFlops,
  combinerFlops,
  forwardFlops,
  matmulFlops,
  profiledMatmulFlops,
} from "../../bench/_flops.ts";
import { profileWork } from "../../bench/_measure.ts";
import { audioTokensPerChunk, videoTokensPerChunk } from "../../model/config.ts";

await setBackend("wasm");

// Backslashes are left out: a cell ending in one would read as an escaped separator in any Markdown.
const cellText = fc.string({ maxLength: 12 }).filter((s) => !/[\n\r\\]/.test(s));

Deno.test("markdownTable() lines up every row and gives back each cell, pipes escaped", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 1, max: 5 }),
      fc.array(fc.array(cellText, { minLength: 5, maxLength: 5 }), { maxLength: 6 }),
      (cols, raw) => {
        const header = Array.from({ length: cols }, (_, i) => `h${i}`);
        const rows = raw.map((r) => r.slice(0, cols));
        const lines = markdownTable({ header, rows }).split("\n");
        assert.equal(lines.length, rows.length + 2);
        assert.ok(lines.every((l) => l.length === lines[0].length), "all lines have one width");
        rows.forEach((r, i) => {
          const cells = lines[i + 2].slice(2, -2).split(/(?<!\\) \| /).map((c) =>
            c.trim().replaceAll("\\|", "|")
          );
          assert.deepEqual(cells, r.map((c) => c.trim()));
        });
      },
    ),
    { numRuns: 100, seed: 11 },
  );
});

Deno.test("markdownTable() refuses a row whose cell count differs from the header", () => {
  assert.throws(() => markdownTable({ header: ["a", "b"], rows: [["1"]] }), TableError);
});

Deno.test("markdownTable() marks left and right columns in the rule line", () => {
  const lines = markdownTable({ header: ["name", "ms"], rows: [["x", "1.5"]] }).split("\n");
  assert.equal(lines[1], "|:-----|----:|");
  assert.equal(lines[2], "| x    | 1.5 |");
});

Deno.test("sig() and relChange() format 3 significant figures and a signed percentage", () => {
  assert.equal(sig(1234.5), "1235");
  assert.equal(sig(0.012345), "0.0123");
  assert.equal(sig(5.5), "5.50");
  assert.equal(relChange(70, 100), "-30%");
  assert.equal(relChange(118, 100), "+18%");
});

Deno.test("matmulFlops and attentionCoreFlops equal hand counts", () => {
  assert.equal(matmulFlops(2, 3, 4), 48); // 24 multiply-adds
  assert.equal(matmulFlops(2, 3, 4, 5), 240);
  // 1 sequence, 2 heads, 3 queries, 5 keys, Dh 4: QK^T 2*(2*3*4*5) = 240, PV the same.
  assert.equal(attentionCoreFlops({ sequences: 1, queries: 3, keys: 5, heads: 2, headDim: 4 }), 480);
  // Block S 3, D 4, H 2, Dh 2, F 8: q 96 + k,v 192 + out 96 + core 144 + mlp 384.
  assert.equal(blockFlops({ sequences: 1, tokens: 3, dim: 4, heads: 2, headDim: 2, mlpHidden: 8 }), 912);
});

Deno.test("profiledMatmulFlops counts transposed and batched matMul kernels as 2*M*K*N", async () => {
  const a = tf.ones([3, 5, 4]), b = tf.ones([4, 7]), at = tf.ones([3, 4, 5]), bt = tf.ones([3, 7, 4]);
  const prof = await profileWork(
    () => [tf.matMul(a, b), tf.matMul(at, bt, true, true), tf.matMul(a, bt, false, true)],
  );
  assert.equal(profiledMatmulFlops(prof.kernels), 3 * matmulFlops(5, 4, 7, 3));
  tf.dispose([a, b, at, bt]);
});

Deno.test("blockFlops equals the matmul FLOPs a transformer block (self and cross) really runs", async () => {
  for (const cross of [false, true]) {
    const c = {
      dim: 24,
      heads: 2,
      headDim: 12,
      mlpHidden: 48,
      ...(cross ? { cross: true, contextDim: 24 } : {}),
    };
    const p = transformer.initBlock(PRNGKey(3), c);
    const x = tf.ones([2, 5, 24]), ctx = tf.ones([2, 7, 24]);
    const prof = await profileWork(() => transformer.applyBlock(p, x, cross ? { context: ctx } : {}));
    const want = blockFlops({
      sequences: 2,
      tokens: 5,
      dim: 24,
      heads: 2,
      headDim: 12,
      mlpHidden: 48,
      ...(cross ? { context: { tokens: 7, dim: 24 } } : {}),
    });
    assert.equal(profiledMatmulFlops(prof.kernels), want, cross ? "cross block" : "self block");
    tf.dispose([x, ctx]);
  }
});

Deno.test("forwardFlops and combinerFlops equal the matmul FLOPs the model runs (tiny; causal and TTM)", async () => {
  for (const kind of ["causal_transformer", "ttm"] as const) {
    const c = withCombiner(tiny, combinerOfKind(kind, { layers: 1, outTokens: 4 }));
    const p = init(PRNGKey(0), c);
    const batch = exampleBatch(PRNGKey(1), c, { batch: 2, textLength: 8 });
    const whole = await profileWork(() =>
      Object.values(forward(p, batch, { config: c, train: false })).flatMap((v) =>
        v instanceof tf.Tensor ? [v] : Object.values(v)
      )
    );
    assert.equal(profiledMatmulFlops(whole.kernels), forwardFlops(c, 2, 8).total, `${kind} forward`);
    const n = videoTokensPerChunk(c) + audioTokensPerChunk(c);
    const u = tf.ones([2, c.video.chunks, n, c.width.dim]);
    const alone = await profileWork(() => combiner.apply(p.combiner, u, { config: c, train: false }));
    assert.equal(
      profiledMatmulFlops(alone.kernels),
      combinerFlops(c, 2, c.video.chunks, n),
      `${kind} Combiner`,
    );
    tf.dispose([u, ...Object.values(batch)]);
  }
});
