import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { PRNGKey, split } from "../../transforms/random.ts";
import { treeDispose } from "../../transforms/tree.ts";
import { createStream } from "../../inference/stream.ts";
import { configs, exampleBatch, forward, init, type MirasolConfig, validateConfig } from "../../model/mod.ts";

await setBackend("wasm");

// Tab. 5c's "Ours + BD": the latent model attends over all chunks. x_t stays causal (the Combiner is
// unchanged); h_t of early chunks now depends on later ones.
const bidirectional: MirasolConfig = validateConfig({ ...configs.tiny, name: "tiny-bd", latentAttention: "bidirectional" });

function movedPerChunk(config: MirasolConfig) {
  const [kp, kb] = split(PRNGKey(4));
  const params = init(kp, config);
  const batch = exampleBatch(kb, config, { batch: 1 });
  const T = config.video.chunks, K = config.video.frames / T;
  const video2 = tf.tidy(() => tf.concat([tf.slice(batch.video, [0, 0], [-1, (T - 1) * K]), tf.randomUniform([1, K, config.video.height, config.video.width, 3], 0, 1, "float32", 9)], 1));
  const a = forward(params, batch, { config, train: false });
  const b = forward(params, { ...batch, video: video2 }, { config, train: false });
  const moved = (x: tf.Tensor, y: tf.Tensor) =>
    Array.from({ length: T }, (_, t) => tf.tidy(() => tf.max(tf.abs(tf.sub(tf.slice(x, [0, t], [-1, 1]), tf.slice(y, [0, t], [-1, 1])))).dataSync()[0]));
  const out = { x: moved(a.x, b.x), h: moved(a.h, b.h) };
  treeDispose([params, a.u, a.x, a.h, a.logits, b.u, b.x, b.h, b.logits, video2]);
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

Deno.test("streaming refuses a bidirectional latent model, and validateConfig refuses an unknown attention", () => {
  const params = init(PRNGKey(0), bidirectional);
  const stream = createStream(params, bidirectional);
  const K = bidirectional.video.frames / bidirectional.video.chunks, r = bidirectional.audio.columnsPerFrame;
  const chunk = { video: tf.zeros([1, K, bidirectional.video.height, bidirectional.video.width, 3]), audio: tf.zeros([1, K * r, bidirectional.audio.melBins]) };
  assert.throws(() => stream.push(chunk), /bidirectional/);
  stream.dispose();
  treeDispose(params);
  tf.dispose(Object.values(chunk));
  assert.throws(() => validateConfig({ ...configs.tiny, latentAttention: "sideways" as never }), /latentAttention/);
});
