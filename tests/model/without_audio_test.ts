import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { paramShapes } from "../../transforms/param_shapes.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { countParams, treeFlatten } from "../../transforms/tree.ts";
import {
  audioTokensPerChunk,
  ConfigError,
  paper3b,
  paper512,
  tiny,
  validateConfig,
  videoTokensPerChunk,
  withFrames,
  withoutAudio,
} from "../../model/config.ts";
import { decodeConfig } from "../../model/config_decode.ts";
import { slotSources } from "../../model/combiner/slots.ts";
import { exampleBatch, InputError } from "../../model/inputs.ts";
import { forward, init, loss, type MirasolParams } from "../../model/mirasol.ts";
import { batchTensors, disposeBatch } from "../../train/batch_tensors.ts";
import { syntheticBatches } from "../../train/sources.ts";

await setBackend("wasm");

const noAudio = withoutAudio(tiny);

Deno.test("withoutAudio: no audio encoder, u is the video tokens alone, the Combiner's slots are all video", () => {
  assert.equal(noAudio.audio, null);
  assert.equal(noAudio.reconstruction.audio, false);
  assert.equal(audioTokensPerChunk(noAudio), 0);
  assert.ok(slotSources(noAudio).every((s) => s === "video"));
  const p = init(PRNGKey(0), noAudio);
  assert.equal(p.audio_encoder, undefined);
  const { audio: _, ...batch } = exampleBatch(PRNGKey(1), noAudio);
  assert.equal(exampleBatch(PRNGKey(1), noAudio).audio, undefined, "no spectrogram drawn without audio");
  const out = forward(p, batch, { config: noAudio, train: false });
  const { chunks: T } = noAudio.video;
  assert.deepEqual(out.u.shape, [2, T, videoTokensPerChunk(noAudio), noAudio.width.dim]);
  assert.deepEqual(out.h.shape, [2, T, 4, noAudio.width.dim]);
  assert.equal(out.reconstruction.audio, undefined);
  tf.dispose([out.u, out.x, out.h, out.prediction, out.logits, out.reconstruction.video]);
  tf.dispose(Object.values(batch));
});

Deno.test("withoutAudio: a batch's audio is not read (same outputs with it, without it, with garbage in it)", () => {
  const p = init(PRNGKey(0), noAudio);
  const withA = exampleBatch(PRNGKey(2), tiny); // carries a spectrogram of tiny's layout
  const { audio, ...without } = withA;
  const garbage = { ...without, audio: tf.fill([3, 5, 7], NaN) };
  const run = (b: typeof without) => forward(p, b, { config: noAudio, train: false }).logits.arraySync();
  const ref = run(without);
  assert.deepEqual(run(withA), ref);
  assert.deepEqual(run(garbage), ref);
  tf.dispose([audio, garbage.audio, ...Object.values(without)]);
});

Deno.test("withoutAudio: loss is finite and its gradient reaches every parameter", () => {
  const p = init(PRNGKey(0), noAudio);
  const batch = exampleBatch(PRNGKey(3), noAudio, { batch: 2, textLength: 6 });
  const f = (q: MirasolParams) => loss(q, batch, { config: noAudio, train: true, key: PRNGKey(4) }).total;
  const { value, grads } = valueAndGrad(f)(p);
  assert.ok(Number.isFinite(value.dataSync()[0]));
  const { leaves, paths } = treeFlatten(grads as never);
  assert.equal(leaves.length, treeFlatten(p as never).leaves.length);
  const dead = paths.filter((_, i) => tf.max(tf.abs(leaves[i] as tf.Tensor)).dataSync()[0] === 0);
  assert.deepEqual(dead, []);
  tf.dispose([value, ...(leaves as tf.Tensor[]), ...Object.values(batch)]);
});

Deno.test("with audio, a batch without audio is refused naming the field", () => {
  const p = init(PRNGKey(0), tiny);
  const { audio, ...without } = exampleBatch(PRNGKey(5), tiny);
  assert.throws(
    () => forward(p, without, { config: tiny, train: false }),
    (e: unknown) => e instanceof InputError && e.field === "audio" && /got nothing/.test(e.message),
  );
  tf.dispose([audio, ...Object.values(without)]);
});

Deno.test("withoutAudio: audio reconstruction cannot be asked for, and a config file may say audio: null", () => {
  assert.throws(
    () => validateConfig({ ...noAudio, reconstruction: { ...noAudio.reconstruction, audio: true } }),
    (e: unknown) => e instanceof ConfigError && /reconstruction\.audio/.test(e.message),
  );
  const decoded = decodeConfig(JSON.parse(JSON.stringify(noAudio)));
  assert.equal(decoded.audio, null);
});

Deno.test("withoutAudio: synthetic training batches convert to model batches with no audio tensor", () => {
  const host = syntheticBatches(noAudio, { batchSize: 2, seed: 0 })(0);
  const t = batchTensors(host, noAudio);
  assert.equal(t.audio, undefined);
  assert.deepEqual(t.video.shape, [2, noAudio.video.frames, noAudio.video.height, noAudio.video.width, 3]);
  disposeBatch(t);
});

Deno.test("paper3b without audio: paramShapes drops exactly the audio encoder, at 128 and at 512 frames", () => {
  const full = paramShapes(init, paper3b) as unknown as Record<string, unknown>;
  const none = paramShapes(init, withoutAudio(paper3b)) as unknown as Record<string, unknown>;
  assert.ok("audio_encoder" in full && !("audio_encoder" in none));
  const audioEncoder = countParams(full.audio_encoder as never);
  assert.equal(countParams(none as never), countParams(full as never) - audioEncoder);
  // The shared backbone (§3.1) leaves audio only its patch projection: 16 x 16 patches -> 2048.
  // So the model without audio is 3.0328B, not the paper's 2.9B (a separate audio ViT would be 0.8B).
  assert.equal(audioEncoder, (16 * 16 + 1) * 2048);
  const long = paramShapes(init, withoutAudio(withFrames(paper3b, 512, 16))) as never;
  assert.equal(countParams(long), countParams(none as never));
});

Deno.test("paper512: 16 chunks of 32 frames with paper3b's parameters, slots still 16 video + 16 audio", () => {
  assert.equal(paper512.video.frames, 512);
  assert.equal(paper512.video.chunks, 16);
  assert.equal(
    countParams(paramShapes(init, paper512) as never),
    countParams(paramShapes(init, paper3b) as never),
  );
  const s = slotSources(paper512);
  assert.deepEqual([s.filter((x) => x === "video").length, s.filter((x) => x === "audio").length], [16, 16]);
  // Four times the audio of a 128-frame chunk: the audio alone could have filled every slot.
  assert.equal(audioTokensPerChunk(paper512), 4 * audioTokensPerChunk(paper3b));
});
