import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeLeaves } from "../../transforms/tree.ts";
import { tiny } from "../../model/config.ts";
import { ConfigError } from "../../model/errors.ts";
import { exampleBatch } from "../../model/inputs.ts";
import { init } from "../../model/mirasol.ts";
import { generate, generateAsync, type GenerateOptions } from "../../inference/generate.ts";

await setBackend("cpu");

const c = tiny;
const strategies: GenerateOptions["strategy"][] = [
  { kind: "greedy" },
  { kind: "sample", temperature: 1, key: PRNGKey(5) },
  { kind: "sample", temperature: 0.7, topK: 5, key: PRNGKey(6) },
];

async function compareSyncAsync(): Promise<void> {
  const params = init(PRNGKey(0), c);
  const batch = exampleBatch(PRNGKey(1), c, { batch: 2, textLength: 2 });
  const media = { video: batch.video, audio: batch.audio };
  try {
    for (const strategy of strategies) {
      const opts = { config: c, maxLen: 6, strategy, eos: c.text.vocab - 1 };
      const before = tf.memory().numTensors;
      const got = await generateAsync(params, media, [1, 2, 3], opts);
      assert.equal(tf.memory().numTensors, before, "generateAsync leaks no tensors");
      const want = generate(params, media, [1, 2, 3], opts);
      assert.deepEqual(got.map((g) => g.tokens), want.map((g) => g.tokens));
      got.forEach((g, b) =>
        g.logProbs.forEach((lp, i) => assert.ok(Math.abs(lp - want[b].logProbs[i]) < 1e-5))
      );
    }
    await assert.rejects(
      async () =>
        await generateAsync(
          params,
          media,
          [1],
          { config: c, maxLen: 2, strategy: { kind: "beam", beamSize: 2 } } as GenerateOptions,
        ),
      ConfigError,
    );
  } finally {
    tf.dispose([...Object.values(batch), ...treeLeaves(params as Tree)]);
  }
}

Deno.test(
  "generateAsync gives generate's tokens and log-probs (greedy, sampling, top-k) on cpu, and refuses beam search",
  compareSyncAsync,
);

/** webgpu only where Deno sees an adapter (mesa's software Vulkan, llvmpipe, counts). */
const adapter = "gpu" in navigator ? await navigator.gpu.requestAdapter().catch(() => null) : null;
if (!adapter) console.log("generateAsync on webgpu: skipped, Deno sees no WebGPU adapter");
Deno.test({
  name: "generateAsync runs on webgpu and gives greedy tokens equal to cpu's",
  ignore: !adapter,
  fn: async () => {
    const params0 = init(PRNGKey(0), c);
    const batch0 = exampleBatch(PRNGKey(1), c, { batch: 2, textLength: 2 });
    const opts = { config: c, maxLen: 4, strategy: { kind: "greedy" } as const, eos: c.text.vocab - 1 };
    const want = generate(params0, { video: batch0.video, audio: batch0.audio }, [1, 2, 3], opts);
    const hostBatch = [batch0.video, batch0.audio].map((t) => ({ shape: t.shape, values: t.dataSync() }));
    await setBackend("webgpu");
    try {
      const params = init(PRNGKey(0), c); // host-drawn keys: the same params as on cpu
      const [video, audio] = hostBatch.map((t) => tf.tensor(t.values, t.shape));
      const got = await generateAsync(params, { video, audio }, [1, 2, 3], opts);
      assert.deepEqual(got.map((g) => g.tokens), want.map((g) => g.tokens));
    } finally {
      await setBackend("cpu");
    }
  },
});
