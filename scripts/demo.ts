/**
 * The end-to-end demo (`./run demo`): describe the 3B model without allocating it, render and decode
 * real audio-video clips with ffmpeg, show that the model is causal over chunks, train the `avqa`
 * model on the clips for a few steps, ask questions of a streamed clip, export the trained model as a
 * TensorFlow SavedModel and check in real TensorFlow that it computes the same loss.
 *
 * Everything it writes goes under out/demo/. `--steps N` (default 60) and `--clips N` (default 24).
 */
import * as tf from "@tensorflow/tfjs-core";
import { Effect, Stream } from "effect";
import { parseArgs } from "node:util";
import {
  batchTensors,
  chunkAlign,
  type Clip,
  configs,
  createStream,
  decodeClips,
  disposeBatch,
  exactMatch,
  type Example,
  exportSavedModel,
  ffmpegLayer,
  forward,
  init,
  loss,
  mirasolSignatures,
  paramShapes,
  PRNGKey,
  qaText,
  setBackend,
  synthetic,
  type SyntheticClip,
  syntheticVocabulary,
  toExample,
  train,
  treeDispose,
  withFrames,
  wordTokenizer,
} from "../mod.ts";
import { countParams } from "../transforms/tree.ts";
import { stack } from "../data/batch.ts";

const { values: args } = parseArgs({
  args: Deno.args,
  options: { steps: { type: "string" }, clips: { type: "string" } },
});
const steps = Number(args.steps ?? 60), clipCount = Number(args.clips ?? 24);
const out = "out/demo";
await Deno.remove(out, { recursive: true }).catch(() => undefined);
await Deno.mkdir(out, { recursive: true });
const section = (title: string) => console.log(`\n== ${title}`);
const seconds = (t0: number) => `${((performance.now() - t0) / 1000).toFixed(1)} s`;

await setBackend("wasm");

section("1. The paper's 3B model, described without allocating it");
{
  const before = tf.memory().numTensors;
  const n128 = countParams(paramShapes(init, configs.paper3b));
  const n512 = countParams(paramShapes(init, withFrames(configs.paper3b, 512, 16)));
  console.log(
    `paper3b: ${(n128 / 1e9).toFixed(3)}B parameters at 128 frames, ${
      (n512 / 1e9).toFixed(3)
    }B at 512 frames; ` +
      `tensors allocated: ${tf.memory().numTensors - before}`,
  );
}

section("2. Real clips: rendered by ffmpeg, decoded into time-aligned video and log-mel chunks");
const config = configs.avqa; // dim 128, T = 4 chunks of 8 frames at 32x32, m = 4 (the bench/avqa task model)
const T = config.video.chunks, N = config.video.frames, size = config.video.height;
const t0 = performance.now();
const rendered = await Effect.runPromise(
  Stream.runCollect(synthetic(`${out}/clips`, { seed: 1, count: clipCount, concurrency: 2 })).pipe(
    Effect.provide(ffmpegLayer),
  ),
) as readonly SyntheticClip[];
const decoded = await Effect.runPromise(
  Stream.runCollect(decodeClips(rendered.map((c) => c.path), {
    frames: N,
    height: size,
    width: size,
    requireAudio: true,
    logMel: { melBins: config.audio.melBins },
    concurrency: 2,
  })).pipe(Effect.provide(ffmpegLayer)),
) as readonly Clip[];
const align = chunkAlign({ frames: N, chunks: T, fps: 25, columnsPerSecond: 100 });
console.log(
  `${clipCount} clips rendered and decoded in ${seconds(t0)}: video [${decoded[0].videoShape}], log-mel [${
    decoded[0].audioShape
  }]`,
);
for (const c of align.chunks) {
  console.log(
    `  chunk ${c.chunk}: frames ${c.firstFrame}..${c.firstFrame + c.frameCount - 1} ` +
      `(${c.videoStartS.toFixed(2)}-${c.videoEndS.toFixed(2)} s), log-mel columns ${c.firstColumn}..${
        c.firstColumn + c.columnCount - 1
      } ` +
      `(${c.audioStartS.toFixed(2)}-${c.audioEndS.toFixed(2)} s)`,
  );
}
const scene0 = rendered[0].scene;
console.log(
  `  clip 0: colours ${scene0.colours.join(", ")}; ${scene0.pitch} tone in chunk ${scene0.toneChunk}`,
);

const tokenizer = wordTokenizer(syntheticVocabulary(), "synthetic QA words");
const L = 16;
const examples: (Example & { question: string; answer: string; type: string })[] = rendered.flatMap((c, i) =>
  c.questions.map((qa) => ({ ...toExample(decoded[i], qaText(tokenizer, qa, L)), ...qa }))
);
const shapes = { N, H: size, W: size, r: config.audio.columnsPerFrame, Mb: config.audio.melBins, L };
const batchOf = (rows: readonly Example[]) =>
  batchTensors(Effect.runSync(stack(rows, shapes, rows.length, tokenizer.special.pad)), config);

section("3. Causality: change the video of chunk 2 and see which x_t and h_t move");
{
  const params = init(PRNGKey(0), config);
  const b = batchOf(examples.slice(0, 1));
  const perturbed = {
    ...b,
    video: tf.tidy(() =>
      tf.concat([
        tf.slice(b.video, [0, 0], [-1, 16]),
        tf.randomUniform([1, 16, size, size, 3], 0, 1, "float32", 5),
      ], 1)
    ),
  };
  const [a, p] = [
    forward(params, b, { config, train: false }),
    forward(params, perturbed, { config, train: false }),
  ];
  const moved = (x: tf.Tensor, y: tf.Tensor) =>
    Array.from(
      { length: T },
      (_, t) =>
        tf.tidy(() =>
          tf.max(tf.abs(tf.sub(tf.slice(x, [0, t], [-1, 1]), tf.slice(y, [0, t], [-1, 1])))).dataSync()[0]
        ),
    );
  console.log(`  max |dx_t| per chunk: ${moved(a.x, p.x).map((v) => v.toExponential(1)).join("  ")}`);
  console.log(
    `  max |dh_t| per chunk: ${
      moved(a.h, p.h).map((v) => v.toExponential(1)).join("  ")
    }   (exactly 0 before chunk 2)`,
  );
  treeDispose([params, a.u, a.x, a.h, a.logits, p.u, p.x, p.h, p.logits, perturbed.video]);
  disposeBatch(b);
}

section(
  `4. Training avqa (${
    (countParams(paramShapes(init, config)) / 1e6).toFixed(2)
  }M parameters) on ${examples.length} QA examples`,
);
const held = examples.slice(0, 16), trainSet = examples.slice(16);
const batchSize = 16;
const t1 = performance.now();
const curve: number[] = [];
const result = await train({
  config,
  steps,
  batchSize,
  lr: 2e-3,
  seed: 0,
  out: `${out}/run`,
  warmupSteps: Math.min(10, steps),
  logEvery: 10,
  data: (step: number) => {
    const at = (step * batchSize) % trainSet.length;
    return Effect.runSync(
      stack([...trainSet, ...trainSet].slice(at, at + batchSize), shapes, batchSize, tokenizer.special.pad),
    );
  },
  onStep: (_step: number, m: { total: number }) => void curve.push(m.total),
});
console.log(
  `  ${result.step} steps in ${seconds(t1)}: total loss ${curve[0].toFixed(3)} -> ${
    curve[curve.length - 1].toFixed(3)
  }`,
);

section("5. Asking questions of a streamed clip, chunk by chunk");
const params = result.params;
{
  const clip = held[0];
  const stream = createStream(params, config);
  const video = tf.tensor(clip.video, [1, ...clip.videoShape]),
    audio = tf.tensor(clip.audio, [1, ...clip.audioShape]);
  const K = N / T, r = config.audio.columnsPerFrame;
  const questions = examples.filter((e) => e.id === clip.id);
  let answers: string[] = [];
  for (let t = 0; t < T; t++) {
    const chunk = {
      video: tf.slice(video, [0, t * K], [-1, K]),
      audio: tf.slice(audio, [0, t * K * r], [-1, K * r]),
    };
    const { x, h } = stream.push(chunk);
    tf.dispose([x, h, chunk.video, chunk.audio]);
    answers = questions.map((q) => {
      const prompt = [tokenizer.special.bos, ...tokenizer.encode(q.question), tokenizer.special.sep];
      const tokens =
        stream.ask(prompt, { maxLen: 3, eos: tokenizer.special.eos, strategy: { kind: "greedy" } })[0].tokens;
      // The model's text vocabulary is larger than the word tokenizer's: a barely trained model
      // may pick an id that names no word, which is a wrong answer, not a crash.
      return tokens.every((id) => id < tokenizer.vocabSize) ? tokenizer.decode(tokens) : "<no word>";
    });
    console.log(`  after chunk ${t}: ${questions.map((q, i) => `${q.type}=${answers[i]}`).join(", ")}`);
  }
  console.log(`  truth:         ${questions.map((q) => `${q.type}=${q.answer}`).join(", ")}`);
  const { accuracy } = exactMatch(answers, questions.map((q) => q.answer));
  console.log(`  exact match after the last chunk: ${(100 * accuracy).toFixed(0)}%`);
  stream.dispose();
  tf.dispose([video, audio]);
  console.log(
    `  (${steps} steps is a demonstration of the loop; bench/avqa trains this model to its accuracy targets)`,
  );
}

section("6. Export to a TensorFlow SavedModel and check it in TensorFlow 2.21");
{
  const b = batchOf(held.slice(0, 2));
  const tsLoss = loss(params, b, { config, train: false });
  const t2 = performance.now();
  const report = await Effect.runPromise(
    exportSavedModel(
      { params, signatures: mirasolSignatures(config, { batch: 2, textLength: L }), config },
      `${out}/saved_model`,
    ),
  );
  console.log(
    `  exported ${Object.keys(report.signatures).join(", ")} (${report.paramMode} mode) in ${
      seconds(t2)
    } to ${out}/saved_model`,
  );
  const feeds = {
    video: Array.from(b.video.dataSync()),
    audio: Array.from(b.audio!.dataSync()),
    text: Array.from(b.text.dataSync()),
    text_mask: Array.from(b.textMask.dataSync()),
    loss_mask: Array.from(b.lossMask.dataSync()),
    shapes: { video: b.video.shape, audio: b.audio!.shape, text: b.text.shape },
  };
  await Deno.writeTextFile(`${out}/feeds.json`, JSON.stringify(feeds));
  const py = `
import json, sys, numpy as np, tensorflow as tf
m = tf.saved_model.load("${out}/saved_model")
f = json.load(open("${out}/feeds.json")); s = f["shapes"]
out = m.signatures["loss"](video=tf.constant(np.array(f["video"], np.float32).reshape(s["video"])),
  audio=tf.constant(np.array(f["audio"], np.float32).reshape(s["audio"])),
  text=tf.constant(np.array(f["text"], np.int32).reshape(s["text"])),
  text_mask=tf.constant(np.array(f["text_mask"], np.float32).reshape(s["text"])),
  loss_mask=tf.constant(np.array(f["loss_mask"], np.float32).reshape(s["text"])))
print(json.dumps({k: float(v) for k, v in out.items()}))`;
  const res = await new Deno.Command(".venv/bin/python", {
    args: ["-c", py],
    env: { TF_CPP_MIN_LOG_LEVEL: "3" },
  }).output();
  if (!res.success) throw new Error(`TensorFlow check failed:\n${new TextDecoder().decode(res.stderr)}`);
  const tfLoss = JSON.parse(new TextDecoder().decode(res.stdout).trim().split("\n").pop()!);
  for (const term of ["latent", "reconstruction", "text", "total"] as const) {
    const ts = tsLoss[term].dataSync()[0];
    console.log(
      `  ${term.padEnd(14)} TypeScript ${ts.toFixed(6)}   TensorFlow ${tfLoss[term].toFixed(6)}   rel. diff ${
        (Math.abs(ts - tfLoss[term]) / Math.abs(ts)).toExponential(1)
      }`,
    );
  }
  console.log(
    `\nTrain it further in TensorFlow (XLA, MirroredStrategy, multi-worker, TPU): .venv/bin/python export/tf/driver.py --help`,
  );
}
