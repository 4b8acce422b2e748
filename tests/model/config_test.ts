import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import { paramShapes } from "../../transforms/param_shapes.ts";
import { countParams, treeFlatten } from "../../transforms/tree.ts";
import {
  audioTokensPerChunk,
  avqa,
  combinerOfKind,
  combinerTokens,
  configs,
  forFinetuning,
  type MirasolConfig,
  paper3b,
  tiny,
  validateConfig,
  videoTokensPerChunk,
  withCombiner,
  withFrames,
} from "../../model/config.ts";
import { ConfigError } from "../../model/errors.ts";
import { init } from "../../model/mirasol.ts";

await setBackend("wasm");

const shapesOf = (c: MirasolConfig) => {
  const { leaves, paths } = treeFlatten(paramShapes(init, c) as never);
  return paths.map((p, i) => `${p}:${(leaves[i] as { shape: number[] }).shape.join("x")}`);
};

Deno.test("every preset passes validation", () => {
  for (const c of Object.values(configs)) assert.equal(validateConfig(c), c);
});

Deno.test("paper3b has 2.8e9..3.2e9 parameters, a little over half of them in the audio+video part (§3.6)", () => {
  const shapes = paramShapes(init, paper3b) as unknown as Record<string, never>;
  const total = countParams(shapes);
  assert.ok(total >= 2.8e9 && total <= 3.2e9, `paper3b has ${total} parameters`);
  const av = countParams(Object.entries(shapes).filter(([k]) => k !== "text_decoder").map(([, v]) => v));
  assert.ok(av / total > 0.5 && av / total < 0.6, `audio+video share is ${(av / total).toFixed(3)}`);
});

Deno.test("paper3b is 128 frames = 16 chunks x 8 frames with m = 32 and a Combiner of R = 8 layers (§3.2, §3.6)", () => {
  assert.deepEqual(paper3b.combiner, { kind: "causal_transformer", layers: 8, outTokens: 32 });
  assert.deepEqual([paper3b.video.frames, paper3b.video.chunks, combinerTokens(paper3b)], [128, 16, 32]);
  assert.equal(paper3b.combinerMaskRatio, 0.75);
  assert.deepEqual(paper3b.losses, { latent: 1, reconstruction: 1, text: 1 });
});

Deno.test("withFrames(paper3b, 512, 16) has exactly the parameters of the 128-frame model", () => {
  const long = withFrames(paper3b, 512, 16);
  assert.equal(long.video.frames / long.video.chunks, 32);
  assert.deepEqual(shapesOf(long), shapesOf(paper3b));
  assert.ok(
    videoTokensPerChunk(long) > videoTokensPerChunk(paper3b),
    "longer chunks must yield more tube tokens",
  );
});

Deno.test("the parameter tree never depends on frame or chunk count, for every Combiner", () => {
  const kinds = ["causal_transformer", "ttm", "perceiver", "cls", "none"] as const;
  const reference = new Map(kinds.map((kind) => {
    const c = withCombiner(tiny, combinerOfKind(kind, { layers: 1, outTokens: 4 }));
    return [kind, shapesOf(c).join("|")] as const;
  }));
  fc.assert(
    fc.property(
      fc.constantFrom(...kinds),
      fc.integer({ min: 1, max: 6 }),
      fc.integer({ min: 1, max: 4 }),
      (kind, chunks, k) => {
        const c = withCombiner(tiny, combinerOfKind(kind, { layers: 1, outTokens: 4 }));
        const longer = withFrames(c, chunks * 4 * k, chunks); // K = 4k frames per chunk
        assert.equal(shapesOf(longer).join("|"), reference.get(kind));
      },
    ),
    { numRuns: 100, seed: 11 },
  );
});

Deno.test("forFinetuning multiplies only the text loss weight by 10 (§3.6)", () => {
  assert.deepEqual(forFinetuning(paper3b).losses, { latent: 1, reconstruction: 1, text: 10 });
  assert.deepEqual(forFinetuning(avqa).losses, { latent: 0.25, reconstruction: 1, text: 10 });
});

Deno.test("avqa matches issue 10: dim 128, T = 4 x 8 frames at 32x32, m = 4, 8x8x8 tubes, audio patches spanning all mel bins", () => {
  assert.equal(avqa.width.dim, 128);
  assert.deepEqual([avqa.video.frames, avqa.video.chunks, avqa.video.height, combinerTokens(avqa)], [
    32,
    4,
    32,
    4,
  ]);
  assert.deepEqual(avqa.video.tubes[0].kernel, [8, 8, 8]);
  assert.equal(avqa.audio.patchBins, avqa.audio.melBins);
  assert.equal(avqa.audio.patchColumns, 8);
  assert.equal(avqa.losses.latent, 0.25);
  assert.equal(videoTokensPerChunk(avqa) + audioTokensPerChunk(avqa), 16 + 4);
});

const bad: [string, (c: MirasolConfig) => MirasolConfig, RegExp][] = [
  [
    "frames not divisible by chunks",
    (c) => ({ ...c, video: { ...c.video, frames: 9 } }),
    /video\.chunks = 2 must divide video\.frames = 9/,
  ],
  [
    "overlapping tubes (stride < kernel)",
    (c) => ({
      ...c,
      video: { ...c.video, tubes: [{ kernel: [4, 8, 8], stride: [2, 8, 8], offset: [0, 0] }] },
    }),
    /video\.tubes\[0\]\.stride\[0\] = 2 must be >= kernel 4/,
  ],
  [
    "a tube longer than a chunk",
    (c) => ({
      ...c,
      video: { ...c.video, tubes: [{ kernel: [8, 8, 8], stride: [8, 8, 8], offset: [0, 0] }] },
    }),
    /video\.tubes\[0\].*does not fit a chunk of \[4, 16, 16\]/,
  ],
  [
    "audio patches that do not tile the mel bins",
    (c) => ({ ...c, audio: { ...c.audio!, patchBins: 3 } }),
    /audio\.patchBins = 3 must divide/,
  ],
  [
    "audio patches that do not tile a chunk",
    (c) => ({ ...c, audio: { ...c.audio!, patchColumns: 5 } }),
    /audio\.patchColumns = 5 must divide columns per chunk = 16/,
  ],
  [
    "more Combiner outputs than tokens to select from",
    (c) => ({ ...c, combiner: { kind: "causal_transformer", layers: 1, outTokens: 13 } }),
    /combiner\.outTokens = 13 exceeds the 12 tokens/,
  ],
  ["a mask ratio of 1", (c) => ({ ...c, combinerMaskRatio: 1 }), /combinerMaskRatio must be in \[0, 1\)/],
  [
    "a negative loss weight",
    (c) => ({ ...c, losses: { ...c.losses, text: -1 } }),
    /losses\.text must be a finite weight >= 0/,
  ],
  [
    "a zero width",
    (c) => ({ ...c, width: { ...c.width, heads: 0 } }),
    /width\.heads must be a positive integer/,
  ],
  [
    "a v_small that does not tile the chunk",
    (c) => ({ ...c, reconstruction: { ...c.reconstruction, videoFrames: 3 } }),
    /reconstruction\.videoFrames = 3 must divide frames per chunk = 4/,
  ],
  [
    "a one-token vocabulary",
    (c) => ({ ...c, text: { ...c.text, vocab: 1 } }),
    /text\.vocab must be an integer >= 2/,
  ],
];

for (const [what, mutate, message] of bad) {
  Deno.test(`validateConfig rejects ${what} with a ConfigError naming the field`, () => {
    assert.throws(
      () => validateConfig(mutate(tiny)),
      (e: unknown) =>
        e instanceof ConfigError && message.test(e.message) && /^Cannot use config 'tiny'/.test(e.message),
    );
  });
}

Deno.test("withFrames validates the derived config", () => {
  assert.throws(() => withFrames(tiny, 10, 4), ConfigError);
  assert.throws(() => withFrames(tiny, 4, 4), /does not fit a chunk of \[1, 16, 16\]/);
});

Deno.test("init refuses an invalid config before allocating anything", () => {
  assert.throws(() => paramShapes(init, { ...tiny, combinerMaskRatio: 2 }), ConfigError);
});
