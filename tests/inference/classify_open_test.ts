import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { adamw } from "../../transforms/optim/adamw.ts";
import { applyUpdates } from "../../transforms/optim/chain.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeDispose } from "../../transforms/tree.ts";
import { type MirasolConfig, tiny, validateConfig } from "../../model/config.ts";
import { textLoss } from "../../model/losses.ts";
import { init, mediaContext, type MirasolParams } from "../../model/mirasol.ts";
import * as textDecoder from "../../model/text_decoder.ts";
import { CLASSIFY_PROMPT, classifyFromContext } from "../../inference/classify.ts";
import { classifyOpenEnded, openEndedScore, type TextCodec } from "../../inference/classify_open.ts";

await setBackend("wasm");

const c: MirasolConfig = validateConfig({
  ...tiny,
  name: "tiny-classify",
  text: { ...tiny.text, maxLength: 48 },
});

/** Characters a-z -> 3..28, space -> 29; BOS 30, SEP 31, EOS 1. */
const codec: TextCodec = {
  encode: (t) =>
    Array.from(
      t.toLowerCase(),
      (ch) => (ch >= "a" && ch <= "z" ? 3 + ch.charCodeAt(0) - 97 : ch === " " ? 29 : 2),
    ),
  decode: (ids) =>
    ids.map((i) => (i >= 3 && i <= 28 ? String.fromCharCode(97 + i - 3) : i === 29 ? " " : "?")).join(""),
  special: { bos: 30, sep: 31, eos: 1 },
};
const NAMES = ["red", "green", "blue"];
const COLOURS = [[1, 0, 0], [0, 1, 0], [0, 0, 1]];

/** One clip per class: every frame the class colour, silent audio. */
function clips() {
  const { frames: N, height: H, width: W } = c.video;
  const video = tf.tidy(() => tf.stack(COLOURS.map((rgb) => tf.broadcastTo(tf.tensor1d(rgb), [N, H, W, 3]))));
  const audio = tf.zeros([NAMES.length, N * c.audio!.columnsPerFrame, c.audio!.melBins]);
  return { video, audio };
}

/** The training framing of data/examples.ts: BOS prompt SEP label EOS, only label and EOS scored. */
function framed() {
  const prompt = [codec.special.bos, ...Array.from(codec.encode(CLASSIFY_PROMPT)), codec.special.sep];
  const rows = NAMES.map((n) => [...prompt, ...Array.from(codec.encode(n)), codec.special.eos]);
  const L = Math.max(...rows.map((r) => r.length));
  const pad = (r: number[], v: number) => [...r, ...Array(L - r.length).fill(v)];
  return {
    text: tf.tensor2d(rows.map((r) => pad(r, 0)), [rows.length, L], "int32"),
    textMask: tf.tensor2d(rows.map((r) => pad(r.map(() => 1), 0)), [rows.length, L]),
    lossMask: tf.tensor2d(rows.map((r) => pad(r.map((_, i) => (i >= prompt.length ? 1 : 0)), 0)), [
      rows.length,
      L,
    ]),
  };
}

Deno.test("a decoder trained on classification items framed as classify() frames them passes both protocols: open-ended exact match and rank scoring", () => {
  const params = init(PRNGKey(1), c);
  const media = clips();
  const h = mediaContext(params, media, c); // the colour reaches the decoder through h
  const t = framed();
  const before = openEndedScore(classifyOpenEnded(params, media, NAMES, { config: c, tokenizer: codec }), [
    0,
    1,
    2,
  ]);
  assert.ok(before.accuracy < 1, "untrained, the model should not already be right on every clip");
  const lossOf = valueAndGrad((p: MirasolParams["text_decoder"]) =>
    tf.tidy(() =>
      textLoss(textDecoder.apply(p, t.text, t.textMask, h, { train: false }), t.text, t.textMask, t.lossMask)
    )
  );
  const opt = adamw({ learningRate: 3e-3, weightDecay: 0 });
  let decoder = params.text_decoder, state = opt.init(decoder as unknown as Tree<tf.Tensor>);
  for (let step = 0; step < 150; step++) {
    const { value, grads } = lossOf(decoder);
    const u = opt.update(grads as unknown as Tree<tf.Tensor>, state, decoder as unknown as Tree<tf.Tensor>);
    const next = applyUpdates(decoder as unknown as Tree<tf.Tensor>, u.updates) as unknown as typeof decoder;
    if (decoder !== params.text_decoder) treeDispose(decoder as unknown as Tree);
    treeDispose([value, grads as unknown as Tree, state, u.updates]);
    decoder = next, state = u.state;
  }
  const trained = { ...params, text_decoder: decoder };
  const open = classifyOpenEnded(trained, media, NAMES, { config: c, tokenizer: codec });
  const score = openEndedScore(open, [0, 1, 2]);
  assert.deepEqual(open.map((p) => p.text), NAMES, `generated ${JSON.stringify(open)}`);
  assert.equal(score.accuracy, 1);
  assert.deepEqual(score.unmatched, []);
  const ranked = classifyFromContext(trained, h, NAMES, { config: c, tokenizer: codec });
  assert.deepEqual(ranked.map((r) => r[0].name), NAMES);
  treeDispose([
    params as unknown as Tree,
    decoder as unknown as Tree,
    state,
    h,
    media.video,
    media.audio,
    t.text,
    t.textMask,
    t.lossMask,
  ]);
});

Deno.test("openEndedScore counts exact matches and reports every generation that names no class", () => {
  const s = openEndedScore([
    { text: "red", index: 0, finished: true },
    { text: "purple", index: null, finished: true },
    { text: "red", index: 0, finished: false },
  ], [0, 1, 2]);
  assert.deepEqual(s.correct, [true, false, false]);
  assert.equal(s.accuracy, 1 / 3);
  assert.deepEqual(s.unmatched, [{ row: 1, text: "purple" }]);
  assert.throws(() => openEndedScore([], [0]), /1 labels/);
});
