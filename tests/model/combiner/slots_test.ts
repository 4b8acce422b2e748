import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import {
  audioTokensPerChunk,
  configs,
  paper3b,
  videoTokensPerChunk,
  withFrames,
} from "../../../model/config.ts";
import { selectSlots, slotPlan, slotSources } from "../../../model/combiner/slots.ts";

await setBackend("wasm");

const count = (xs: string[], v: string) => xs.filter((x) => x === v).length;

Deno.test("paper3b's 32 Combiner slots are 16 video + 16 audio at 128 frames and at 512 frames", () => {
  const at128 = withFrames(paper3b, 128, 16), at512 = withFrames(paper3b, 512, 16);
  assert.ok(audioTokensPerChunk(at512) >= 32, "at 512 frames the audio alone could fill every slot");
  for (const c of [at128, at512]) {
    const s = slotSources(c);
    assert.equal(s.length, 32);
    assert.deepEqual([count(s, "video"), count(s, "audio")], [16, 16]);
  }
});

Deno.test("the slots' modality mix does not depend on the frame count (property over presets, m and frames per chunk)", () => {
  fc.assert(
    fc.property(
      fc.constantFrom(configs.small, configs.base, configs.paper3b),
      fc.integer({ min: 1, max: 16 }),
      fc.constantFrom(1, 2, 4),
      (preset, m, scale) => {
        const base = {
          ...preset,
          combiner: { kind: "causal_transformer" as const, layers: 1, outTokens: m },
        };
        const T = preset.video.chunks, N = preset.video.frames;
        const a = withFrames(base, N, T), b = withFrames(base, N * scale, T);
        // Fixed by m while both modalities have at least m/2 tokens, which every preset does.
        if (Math.min(videoTokensPerChunk(a), audioTokensPerChunk(a)) < m / 2) return;
        assert.deepEqual(slotSources(a), slotSources(b));
        assert.equal(count(slotSources(a), "audio"), Math.floor(m / 2));
      },
    ),
    { numRuns: 100, seed: 18 },
  );
});

Deno.test("selectSlots keeps the last tokens of the video block then the last of the audio block (oracle)", () => {
  const c = configs.tiny, p = slotPlan(c);
  const f = videoTokensPerChunk(c), s = audioTokensPerChunk(c), n = f + s;
  const ids = tf.reshape(tf.range(0, 2 * n, 1, "float32"), [1, 2, n, 1]) as tf.Tensor4D; // token index per chunk
  const got = selectSlots(ids, p).dataSync();
  const want = [0, 1].flatMap((t) => [
    ...Array.from({ length: p.video }, (_, i) => t * n + f - p.video + i),
    ...Array.from({ length: p.audio }, (_, i) => t * n + n - p.audio + i),
  ]);
  assert.deepEqual(Array.from(got), want);
  // Too few audio tokens: video takes the rest.
  const q = slotPlan({ ...c, combiner: { kind: "causal_transformer", layers: 1, outTokens: 2 * s + 2 } });
  assert.deepEqual([q.video, q.audio], [s + 2, s]);
  tf.dispose(ids);
});
