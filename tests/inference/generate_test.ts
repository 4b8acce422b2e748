import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeLeaves } from "../../transforms/tree.ts";
import { tiny } from "../../model/config.ts";
import { ConfigError } from "../../model/errors.ts";
import { exampleBatch, type MirasolBatch } from "../../model/inputs.ts";
import { forward, init, mediaContext, type MirasolParams } from "../../model/mirasol.ts";
import * as textDecoder from "../../model/text_decoder.ts";
import { generate, type Generated, generateFromContext } from "../../inference/generate.ts";
import { lengthPenaltyOf } from "../../inference/beam.ts";

await setBackend("wasm");

const c = tiny; // V = 40, 16 text positions, T = 2 chunks of 4 frames, m = 4
const V = c.text.vocab;

type Setup = { params: MirasolParams; batch: MirasolBatch; h: tf.Tensor4D };

/** Random tiny params and inputs, with h from the full `forward` (an independent path to the context). */
function setup(seed: number, B = 2): Setup {
  const params = init(PRNGKey(seed), c);
  const batch = exampleBatch(PRNGKey(seed + 1000), c, { batch: B, textLength: 2 });
  const h = tf.keep(forward(params, batch, { config: c, train: false }).h);
  return { params, batch, h };
}

function release(s: Setup): void {
  tf.dispose([s.h, ...Object.values(s.batch)]);
  tf.dispose(treeLeaves(s.params as Tree));
}

/** log p(next | prefix) by running the whole decoder over the whole prefix, as training does. */
function naiveNextLogProbs(s: Setup, row: number, prefix: readonly number[]): Float32Array {
  return tf.tidy(() => {
    const L = prefix.length;
    const hRow = tf.slice(s.h, [row, 0, 0, 0], [1, -1, -1, -1]);
    const text = tf.tensor2d(Int32Array.from(prefix), [1, L], "int32");
    const logits = textDecoder.apply(s.params.text_decoder, text, tf.ones([1, L]), hRow, { train: false }); // [1, L, V]
    return tf.logSoftmax(tf.reshape(tf.slice(logits, [0, L - 1, 0], [1, 1, V]), [V]))
      .dataSync() as Float32Array;
  });
}

const argmax = (xs: Float32Array) => xs.reduce((best, x, i) => (x > xs[best] ? i : best), 0);

/** Greedy decoding by re-running the decoder over the full prefix at every step. */
function naiveGreedy(s: Setup, row: number, prompt: readonly number[], maxLen: number, eos: number) {
  const tokens: number[] = [], logProbs: number[] = [];
  for (let i = 0; i < maxLen; i++) {
    const lp = naiveNextLogProbs(s, row, [...prompt, ...tokens]);
    const next = argmax(lp);
    tokens.push(next);
    logProbs.push(lp[next]);
    if (next === eos) break;
  }
  return { tokens, logProbs };
}

function assertClose(got: readonly number[], want: readonly number[], tol: number, what: string): void {
  assert.equal(got.length, want.length, `${what}: lengths differ`);
  got.forEach((g, i) => assert.ok(Math.abs(g - want[i]) <= tol, `${what}[${i}]: ${g} vs ${want[i]}`));
}

const greedy = { kind: "greedy" } as const;

// 20 random models, prompt pairs (lengths 1..6, so rows are left padded) and EOS ids, fixed seed 11;
// 20 rather than 100 runs because each run re-decodes 2 rows x up to 8 steps naively.
Deno.test("cached greedy decoding gives the tokens and (1e-5) log-probs of re-decoding the full prefix at every step", () => {
  fc.assert(
    fc.property(
      fc.nat(1000),
      fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 6 }),
      fc.array(fc.integer({ min: 0, max: V - 1 }), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 0, max: V - 1 }),
      (seed, p0, p1, eos) => {
        const s = setup(seed);
        try {
          const maxLen = 8;
          const out = generateFromContext(s.params, s.h, [p0, p1], {
            config: c,
            maxLen,
            strategy: greedy,
            eos,
          });
          [p0, p1].forEach((prompt, row) => {
            const want = naiveGreedy(s, row, prompt, maxLen, eos);
            assert.deepEqual(out[row].tokens, want.tokens, `row ${row} (prompt length ${prompt.length})`);
            assertClose(out[row].logProbs, want.logProbs, 1e-5, `row ${row} log-probs`);
            assert.equal(out[row].finished, want.tokens.at(-1) === eos);
          });
        } finally {
          release(s);
        }
      },
    ),
    { numRuns: 20, seed: 11 },
  );
});

Deno.test("mediaContext equals the h of forward, and generate(media) equals generation from that h", () => {
  const s = setup(3);
  const h = mediaContext(s.params, s.batch, c);
  const diff = tf.tidy(() => tf.max(tf.abs(tf.sub(h, s.h))).dataSync()[0]);
  assert.ok(diff < 1e-6, `h differs by ${diff}`);
  const opts = { config: c, maxLen: 6, strategy: greedy, eos: 1 };
  assert.deepEqual(
    generate(s.params, s.batch, [5, 6, 7], opts),
    generateFromContext(s.params, h, [5, 6, 7], opts),
  );
  h.dispose();
  release(s);
});

Deno.test("beam search with beam size 1 (no length penalty) equals greedy", () => {
  for (const seed of [1, 2, 3]) {
    const s = setup(seed);
    const base = { config: c, maxLen: 7, eos: 4 };
    const g = generateFromContext(s.params, s.h, [[9, 3], [2, 8, 8, 1]], { ...base, strategy: greedy });
    const b = generateFromContext(s.params, s.h, [[9, 3], [2, 8, 8, 1]], {
      ...base,
      strategy: { kind: "beam", beamSize: 1, lengthPenalty: 0 },
    });
    b.forEach((r, i) => {
      assert.deepEqual(r.tokens, g[i].tokens);
      assertClose(r.logProbs, g[i].logProbs, 1e-6, "log-probs");
      assert.ok(Math.abs(r.score - g[i].score) < 1e-4);
      assert.equal(r.finished, g[i].finished);
    });
    release(s);
  }
});

/**
 * Beam search without a cache and without early stopping: every beam re-decoded from scratch, the
 * same candidate rule (2W best extensions, EOS only among the first W). Its best hypothesis must be
 * what the cached search with its early stop returns.
 */
function naiveBeam(
  s: Setup,
  row: number,
  prompt: number[],
  W: number,
  alpha: number,
  maxLen: number,
  eos: number,
): Generated {
  type B = { tokens: number[]; logProbs: number[]; logP: number };
  let beams: B[] = [{ tokens: [], logProbs: [], logP: 0 }];
  const finished: Generated[] = [];
  for (let step = 0; step < maxLen; step++) {
    const cands: { beam: B; token: number; lp: number; total: number }[] = [];
    for (const beam of beams) {
      const lp = naiveNextLogProbs(s, row, [...prompt, ...beam.tokens]);
      lp.forEach((x, token) => cands.push({ beam, token, lp: x, total: beam.logP + x }));
    }
    cands.sort((a, b) => b.total - a.total);
    const live: B[] = [];
    for (let rank = 0; rank < cands.length && live.length < W; rank++) {
      const { beam, token, lp, total } = cands[rank];
      const next = { tokens: [...beam.tokens, token], logProbs: [...beam.logProbs, lp], logP: total };
      if (token === eos) {
        if (rank < W) {
          finished.push({
            ...next,
            finished: true,
            score: total / lengthPenaltyOf(next.tokens.length, alpha),
          });
        }
      } else live.push(next);
    }
    beams = live;
  }
  finished.sort((a, b) => b.score - a.score);
  const unfinished = beams.map((b) => ({
    ...b,
    finished: false,
    score: b.logP / lengthPenaltyOf(b.tokens.length, alpha),
  }));
  const pool = finished.length >= W ? finished.slice(0, W) : [...finished, ...unfinished];
  return pool.reduce((best, h) => (h.score > best.score ? h : best));
}

Deno.test("cached beam search (beam 3, length penalty 0.6) finds the hypothesis of an uncached, never-stopping beam search", () => {
  for (const [seed, eos] of [[4, 0], [5, 7], [6, 12]]) {
    const s = setup(seed);
    const prompts = [[3, 9, 1], [20]];
    const W = 3, alpha = 0.6, maxLen = 5;
    const out = generateFromContext(s.params, s.h, prompts, {
      config: c,
      maxLen,
      eos,
      strategy: { kind: "beam", beamSize: W, lengthPenalty: alpha },
    });
    prompts.forEach((prompt, row) => {
      const want = naiveBeam(s, row, prompt, W, alpha, maxLen, eos);
      assert.deepEqual(out[row].tokens, want.tokens, `seed ${seed} row ${row}`);
      assertClose(out[row].logProbs, want.logProbs, 1e-5, "log-probs");
      assert.ok(Math.abs(out[row].score - want.score) < 1e-4, `score ${out[row].score} vs ${want.score}`);
    });
    release(s);
  }
});

Deno.test("sampling is reproducible from its key, varies with the key, and with top-k 1 equals greedy", () => {
  const s = setup(7, 4);
  const opts = { config: c, maxLen: 8, eos: 1 };
  const sample = (seed: number, topK?: number, temperature = 1) =>
    generateFromContext(s.params, s.h, [2, 3], {
      ...opts,
      strategy: { kind: "sample", temperature, topK, key: PRNGKey(seed) },
    });
  assert.deepEqual(sample(1), sample(1));
  assert.deepEqual(sample(1, 5, 0.7), sample(1, 5, 0.7));
  assert.notDeepEqual(sample(1).map((r) => r.tokens), sample(2).map((r) => r.tokens));
  const g = generateFromContext(s.params, s.h, [2, 3], { ...opts, strategy: greedy });
  for (const seed of [1, 2, 3]) {
    const top1 = sample(seed, 1, 1.5);
    assert.deepEqual(top1.map((r) => r.tokens), g.map((r) => r.tokens));
    top1.forEach((r, i) => assertClose(r.logProbs, g[i].logProbs, 1e-6, "log-probs"));
  }
  // Top-k sampling only ever picks one of the k most likely tokens of the step.
  sample(9, 3).forEach((r, row) => {
    r.tokens.forEach((tok, i) => {
      const lp = naiveNextLogProbs(s, row, [2, 3, ...r.tokens.slice(0, i)]);
      const rank = Array.from(lp).filter((x) => x > lp[tok]).length;
      assert.ok(rank < 3, `row ${row} step ${i}: token ${tok} has rank ${rank}`);
    });
  });
  release(s);
});

Deno.test("sampled tokens follow the model's distribution (chi-square over 400 first tokens at temperature 1)", () => {
  const s = setup(8, 1);
  const want = Array.from(naiveNextLogProbs(s, 0, [2]), Math.exp);
  const counts = new Array(V).fill(0);
  const n = 400;
  for (let i = 0; i < n; i++) {
    const [r] = generateFromContext(s.params, s.h, [2], {
      config: c,
      maxLen: 1,
      eos: 1,
      strategy: { kind: "sample", temperature: 1, key: PRNGKey(i) },
    });
    counts[r.tokens[0]]++;
  }
  // Pool rare tokens so every cell expects >= 5; chi-square critical value ~ df + 4 sqrt(2 df).
  let chi = 0, df = -1, pooledObs = 0, pooledExp = 0;
  want.forEach((p, t) => {
    if (n * p >= 5) {
      chi += (counts[t] - n * p) ** 2 / (n * p);
      df++;
    } else {
      pooledObs += counts[t];
      pooledExp += n * p;
    }
  });
  if (pooledExp > 0) {
    chi += (pooledObs - pooledExp) ** 2 / pooledExp;
    df++;
  }
  assert.ok(chi < df + 4 * Math.sqrt(2 * df), `chi-square ${chi.toFixed(1)} with ${df} degrees of freedom`);
  release(s);
});

Deno.test("EOS stops a sequence while the others in the batch go on unchanged", () => {
  const s = setup(9, 3);
  const prompts = [[2, 5], [7], [11, 12, 13]];
  const maxLen = 7;
  const run = (eos: number) =>
    generateFromContext(s.params, s.h, prompts, { config: c, maxLen, eos, strategy: greedy });
  // First with an EOS none of the rows produces, then with a token row 0 produces at step >= 1
  // and the other rows never do.
  const used = new Set(run(0).flatMap((r) => r.tokens));
  const never = Array.from({ length: V }, (_, i) => i).find((t) => !used.has(t))!;
  const free = run(never);
  assert.ok(free.every((r) => !r.finished && r.tokens.length === maxLen));
  const step = free[0].tokens.findIndex((t, i) =>
    i >= 1 && !free[1].tokens.includes(t) && !free[2].tokens.includes(t)
  );
  assert.ok(step >= 1, "test setup: row 0 must produce a token the other rows do not");
  const eos = free[0].tokens[step];
  const out = run(eos);
  assert.deepEqual(out[0].tokens, free[0].tokens.slice(0, free[0].tokens.indexOf(eos) + 1));
  assert.equal(out[0].finished, true);
  for (const row of [1, 2]) {
    assert.deepEqual(out[row].tokens, free[row].tokens);
    assert.equal(out[row].finished, false);
  }
  release(s);
});

/** How many kernels of one call read a tensor of the given shape. */
async function kernelsReading(shape: readonly number[], f: () => unknown): Promise<number> {
  const info = await tf.profile(() => {
    f();
    return tf.scalar(0);
  });
  return info.kernels.filter((k) =>
    k.inputShapes.some((s) => s.length === shape.length && s.every((d, i) => d === shape[i]))
  )
    .length;
}

Deno.test("the media side runs once per generate call, whatever the strategy and number of tokens", async () => {
  const s = setup(10);
  const video = s.batch.video.shape, B = video[0];
  const [, T, m, D] = s.h.shape;
  const oneContext = await kernelsReading(video, () => tf.dispose(mediaContext(s.params, s.batch, c)));
  assert.ok(oneContext > 0);
  const strategies = [
    greedy,
    { kind: "beam", beamSize: 3, lengthPenalty: 0.6 } as const,
    {
      kind: "sample",
      temperature: 1,
      key: PRNGKey(0),
    } as const,
  ];
  for (const strategy of strategies) {
    for (const maxLen of [1, 6]) {
      const gen = () => generate(s.params, s.batch, [2, 3], { config: c, maxLen, eos: 0, strategy });
      assert.equal(
        await kernelsReading(video, gen),
        oneContext,
        `${strategy.kind}, maxLen ${maxLen}: video encoded more than once`,
      );
      // The decoder projects h [B, T*m, D] to cross keys/values once per call, not per token.
      const cross = await kernelsReading([B, T * m, D], gen);
      if (maxLen === 6) {
        const once = await kernelsReading(
          [B, T * m, D],
          () => generate(s.params, s.batch, [2, 3], { config: c, maxLen: 1, eos: 0, strategy }),
        );
        assert.equal(cross, once, `${strategy.kind}: h re-read per token`);
      }
    }
  }
  release(s);
});

Deno.test("generate leaks no tensors and rejects bad options with a ConfigError", () => {
  const s = setup(12);
  const before = tf.memory().numTensors;
  generate(s.params, s.batch, [2, 3], {
    config: c,
    maxLen: 5,
    eos: 0,
    strategy: { kind: "beam", beamSize: 2, lengthPenalty: 1 },
  });
  generate(s.params, s.batch, [[2, 3], [4]], { config: c, maxLen: 5, eos: 0, strategy: greedy });
  generate(s.params, s.batch, [2], {
    config: c,
    maxLen: 5,
    eos: 0,
    strategy: { kind: "sample", temperature: 2, topK: 4, key: PRNGKey(1) },
  });
  assert.equal(tf.memory().numTensors, before);
  const bad = (opts: Partial<Parameters<typeof generate>[3]>, prompt: number[] | number[][] = [2]) =>
    assert.throws(
      () =>
        generateFromContext(s.params, s.h, prompt, {
          config: c,
          maxLen: 4,
          eos: 0,
          strategy: greedy,
          ...opts,
        }),
      ConfigError,
    );
  bad({ maxLen: 0 });
  bad({ maxLen: 16 }, [1, 2]); // 2 + 16 - 1 > 16 positions
  bad({ eos: V });
  bad({}, [V]);
  bad({}, [[1], [2], [3]]); // 3 prompts for 2 rows
  bad({ strategy: { kind: "beam", beamSize: 0, lengthPenalty: 0 } });
  bad({ strategy: { kind: "sample", temperature: 0, key: PRNGKey(0) } });
  assert.equal(tf.memory().numTensors, before);
  release(s);
});
