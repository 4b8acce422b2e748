import { setBackend } from "../../transforms/backend.ts";
await setBackend("wasm");

import assert from "node:assert/strict";
import fc from "fast-check";
import { Effect } from "effect";
import { decodeClip } from "../../data/decode.ts";
import { ffmpegLayer } from "../../data/ffmpeg.ts";
import { type QAPair, syntheticQuestions, syntheticScene } from "../../data/synthetic.ts";
import { avqa, validateConfig } from "../../model/config.ts";
import { readMetrics } from "../../train/log.ts";
import { cacheFolder, decodeOptions, loadClips } from "../../bench/avqa/clip_cache.ts";
import { clipMedia, epochOrder, trainBatches } from "../../bench/avqa/examples.ts";
import { runAvqa } from "../../bench/avqa/run.ts";
import { answerClips, scoreAvqa } from "../../bench/avqa/score.ts";
import { init } from "../../model/mirasol.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { treeDispose } from "../../transforms/tree.ts";
import {
  AVQA_TASK,
  avqaTokenizer,
  evalQuestions,
  majorityBaseline,
  promptTokens,
  qaTokens,
  QUESTION_TYPES,
  taskWords,
} from "../../bench/avqa/task.ts";
import { avqaBaseline } from "../../bench/avqa/data.ts";

const tok = avqaTokenizer();

Deno.test("the eval set is fixed by its seed: 500 clips, 4 questions each, disjoint from the training stream", () => {
  const qs = evalQuestions();
  assert.equal(qs.length, 4 * 500);
  assert.deepEqual(evalQuestions(), qs);
  assert.equal(qs[0].clipId, `avqa_${AVQA_TASK.evalSeed}_000000`);
  assert.deepEqual(qs.slice(0, 4).map((q) => q.type), QUESTION_TYPES);
  // a longer or shorter set keeps its first clips: the set is a prefix of one seeded sequence
  assert.deepEqual(evalQuestions({ ...AVQA_TASK, evalCount: 20 }), qs.slice(0, 80));
  const train = new Set(Array.from({ length: 2000 }, (_, i) => syntheticScene(AVQA_TASK.trainSeed, i).id));
  assert.ok(qs.every((q) => !train.has(q.clipId)), "an eval clip is also a training clip");
});

Deno.test("(d) is balanced on the eval set: yes and no each 45-55%, asked about the chunk before or during the tone", () => {
  const d = evalQuestions().filter((q) => q.type === "turned_before_tone");
  const yes = d.filter((q) => q.answer === "yes").length / d.length;
  assert.ok(yes >= 0.45 && yes <= 0.55, `yes is ${(100 * yes).toFixed(1)}% of (d)`);
  assert.ok(d.every((q) => q.answer === "yes" || q.answer === "no"));
});

Deno.test("majorityBaseline() picks the most frequent answer per type (ties: first in sort order) and scores it", () => {
  const answerArb = fc.constantFrom("red", "blue", "green", "yes", "no");
  const qaArb = fc.record({ type: fc.constantFrom(...QUESTION_TYPES), answer: answerArb }).map((
    r,
  ): QAPair => ({
    clipId: "x",
    question: "q",
    ...r,
  }));
  fc.assert(
    fc.property(fc.array(qaArb, { maxLength: 60 }), fc.array(qaArb, { maxLength: 60 }), (fit, score) => {
      const base = majorityBaseline(fit, score);
      for (const type of QUESTION_TYPES) {
        const counts = new Map<string, number>();
        for (const q of fit) if (q.type === type) counts.set(q.answer, (counts.get(q.answer) ?? 0) + 1);
        const top = Math.max(0, ...counts.values());
        const winners = [...counts].filter(([, n]) => n === top).map(([a]) => a).sort();
        assert.equal(base[type].answer, winners[0] ?? "");
        const scored = score.filter((q) => q.type === type);
        const right = scored.filter((q) => q.answer === base[type].answer).length;
        assert.equal(base[type].accuracy, scored.length ? right / scored.length : 0);
        assert.equal(base[type].n, scored.length);
      }
    }),
    { numRuns: 200, seed: 11 },
  );
});

Deno.test("the task's baselines are the information-free rates: 1/6-ish for colours, 1/4-ish for pitch, ~1/2 for (d)", () => {
  const b = avqaBaseline(AVQA_TASK, 4000);
  assert.ok(b.first_colour.accuracy > 0.1 && b.first_colour.accuracy < 0.25, JSON.stringify(b.first_colour));
  assert.ok(b.pitch.accuracy > 0.18 && b.pitch.accuracy < 0.33, JSON.stringify(b.pitch));
  assert.ok(
    b.colour_at_tone.accuracy > 0.1 && b.colour_at_tone.accuracy < 0.25,
    JSON.stringify(b.colour_at_tone),
  );
  assert.ok(b.turned_before_tone.accuracy > 0.44 && b.turned_before_tone.accuracy < 0.56);
});

Deno.test("avqaTokenizer() round-trips every question and answer, and every example fits 16 positions with its EOS", () => {
  assert.ok(tok.vocabSize <= avqa.text.vocab, `${tok.vocabSize} ids do not fit the avqa vocabulary`);
  assert.equal(new Set(taskWords()).size, taskWords().length);
  fc.assert(
    fc.property(fc.nat(), fc.nat({ max: 100_000 }), (seed, index) => {
      for (const qa of syntheticQuestions(syntheticScene(seed, index))) {
        assert.equal(tok.decode(tok.encode(qa.answer)), qa.answer);
        assert.equal(tok.decode(tok.encode(qa.question)), qa.question.replace("?", " ?"));
        assert.ok(!tok.encode(qa.question).includes(2), `UNK in ${qa.question}`);
        const t = qaTokens(tok, qa);
        const prompt = promptTokens(tok, qa.question);
        assert.deepEqual(
          [...t.text.subarray(0, prompt.length)],
          [...prompt],
          "the prompt is not the example's prefix",
        );
        const scored = [...t.text].filter((_, i) => t.lossMask[i] === 1);
        assert.deepEqual(
          scored,
          [...tok.encode(qa.answer), tok.special.eos],
          "the scored tokens are not answer + EOS",
        );
      }
    }),
    { numRuns: 200, seed: 3 },
  );
});

Deno.test("epochOrder() is a seeded permutation: every pool clip once per epoch", () => {
  fc.assert(
    fc.property(fc.nat(), fc.nat({ max: 50 }), fc.integer({ min: 1, max: 300 }), (seed, epoch, n) => {
      const order = epochOrder(seed, epoch, n);
      assert.deepEqual([...order].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
      assert.deepEqual(epochOrder(seed, epoch, n), order);
    }),
    { numRuns: 100, seed: 17 },
  );
});

// ---- a handful of real clips: rendered, decoded, cached, trained on and scored ----

const cacheDir = await Deno.makeTempDir({ prefix: "avqa_test_" });
const smallTask = { ...AVQA_TASK, evalCount: 4 };
const load = (seed: number) =>
  Effect.runPromise(
    loadClips(cacheDir, smallTask, { seed, count: 4, blockClips: 4 }).pipe(Effect.provide(ffmpegLayer)),
  );
const pool = await load(AVQA_TASK.trainSeed);
const evalSet = await load(AVQA_TASK.evalSeed);

Deno.test("the clip cache returns what the decoder returns, and reads it back without rendering again", async () => {
  const first = pool.scenes[0];
  const clip = await Effect.runPromise(
    decodeClip(`${cacheFolder(cacheDir, smallTask)}/clips/${first.id}.mp4`, decodeOptions(smallTask)).pipe(
      Effect.provide(ffmpegLayer),
    ),
  );
  const media = clipMedia(pool, [0]);
  assert.deepEqual(media.video, clip.video);
  assert.deepEqual(media.audio, clip.audio);
  await Deno.remove(`${cacheFolder(cacheDir, smallTask)}/clips`, { recursive: true }); // no mp4 left to decode
  const again = await load(AVQA_TASK.trainSeed);
  assert.deepEqual(again.video, pool.video);
  assert.deepEqual(again.audio, pool.audio);
  assert.deepEqual(again.questions, pool.questions);
});

Deno.test("clipMedia() zeroes exactly the ablated modality", () => {
  const both = clipMedia(pool, [1, 2]),
    video = clipMedia(pool, [1, 2], "video"),
    audio = clipMedia(pool, [1, 2], "audio");
  assert.deepEqual(video.video, both.video);
  assert.ok(video.audio.every((v) => v === 0) && both.audio.some((v) => v !== 0));
  assert.deepEqual(audio.audio, both.audio);
  assert.ok(audio.video.every((v) => v === 0));
});

Deno.test("trainBatches() gives the same batch for the same (seed, step), one question per clip, answer scored", () => {
  const batches = trainBatches(pool, { seed: 3, batchSize: 4, tokenizer: tok, task: smallTask });
  const a = batches(5), b = trainBatches(pool, { seed: 3, batchSize: 4, tokenizer: tok, task: smallTask })(5);
  assert.deepEqual(a, b);
  assert.deepEqual(
    [...a.ids].sort(),
    pool.scenes.map((s) => s.id).sort(),
    "a 4-clip pool is one epoch per batch",
  );
  for (let r = 0; r < 4; r++) {
    const c = pool.scenes.findIndex((s) => s.id === a.ids[r]);
    const text = a.text.subarray(r * 16, (r + 1) * 16);
    const answer = tok.decode(text.filter((_, i) => a.lossMask[r * 16 + i] === 1));
    assert.ok(
      pool.questions[c].some((q) =>
        q.answer === answer && tok.decode(text).startsWith(tok.decode(tok.encode(q.question)))
      ),
    );
  }
});

/** The avqa config, narrowed so a smoke run takes seconds (same inputs, tubes, patches and m). */
const smoke = validateConfig({
  ...avqa,
  name: "avqa_smoke",
  width: { dim: 32, heads: 2, headDim: 16, mlpHidden: 64 },
  encoderDepth: 1,
  combiner: { kind: "causal_transformer", layers: 1, outTokens: 4 },
  latentDepth: 1,
  reconstruction: { ...avqa.reconstruction, depth: 1 },
  text: { ...avqa.text, dim: 32, heads: 2, headDim: 16, mlpHidden: 64, depth: 1 },
});

Deno.test("a smoke run trains a few steps, keeps a best checkpoint, and scores every eval question by type", async () => {
  const out = await Deno.makeTempDir({ prefix: "avqa_run_" });
  const row = await runAvqa({
    name: "smoke",
    config: smoke,
    out,
    pool,
    evalSet,
    tokenizer: tok,
    task: smallTask,
    steps: 3,
    seed: 0,
    batchSize: 4,
    evalEvery: 2,
    write: () => {},
  });
  assert.equal(row.steps, 3);
  assert.deepEqual(row.evals.map((e) => e.step), [2, 3]);
  assert.equal(row.best.scores.n, 16);
  for (const t of QUESTION_TYPES) assert.ok(row.best.scores.byType[t] >= 0 && row.best.scores.byType[t] <= 1);
  const train = (await readMetrics(`${out}/metrics.jsonl`)).filter((r) => r.split === "train");
  assert.ok(train.length > 0 && train.every((r) => Number.isFinite((r as { total: number }).total)));
  await Deno.stat(`${out}/best/checkpoint.json`);
  await Deno.remove(out, { recursive: true });
});

Deno.test("answerClips(): each question is answered from its own clip, however many clips share a call", () => {
  const params = init(PRNGKey(4), smoke);
  const o = { config: smoke, tokenizer: tok, task: smallTask, maxLen: 3 };
  // untrained, so only the log-probabilities (which depend on h continuously) tell clips apart
  const together = answerClips(params, evalSet, [0, 1, 2, 3], o);
  const alone = [0, 1, 2, 3].flatMap((c) => answerClips(params, evalSet, [c], o));
  assert.equal(together.length, 16);
  together.forEach((g, r) => {
    assert.deepEqual(g.tokens, alone[r].tokens);
    g.logProbs.forEach((lp, i) =>
      assert.ok(Math.abs(lp - alone[r].logProbs[i]) < 1e-4, `row ${r}: ${lp} vs ${alone[r].logProbs[i]}`)
    );
  });
  const firstOfType = (t: number) => together.filter((_, r) => r % 4 === t).map((g) => g.logProbs[0]);
  assert.ok(
    QUESTION_TYPES.some((_, t) => new Set(firstOfType(t).map((x) => x.toFixed(6))).size > 1),
    "every clip gave the same log-probabilities: a mix-up of clips would go unseen",
  );
  const scores = scoreAvqa(params, evalSet, { ...o, clipsPerCall: 3 });
  assert.deepEqual(scores.predictions, together.map((g) => tok.decode(g.tokens)));
  assert.equal(scores.n, 16);
  treeDispose(params as never);
});

Deno.test({
  name: "cleanup",
  fn: async () => void await Deno.remove(cacheDir, { recursive: true }),
});
