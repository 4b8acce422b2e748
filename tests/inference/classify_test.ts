import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { type Tree, treeFlatten, treeLeaves, treeUnflatten } from "../../transforms/tree.ts";
import { type MirasolConfig, tiny, validateConfig } from "../../model/config.ts";
import { ConfigError } from "../../model/errors.ts";
import { exampleBatch } from "../../model/inputs.ts";
import { init, mediaContext, type MirasolParams } from "../../model/mirasol.ts";
import * as textDecoder from "../../model/text_decoder.ts";
import {
  classify,
  CLASSIFY_PROMPT,
  classifyFromContext,
  type PromptCodec,
  scoreContinuations,
} from "../../inference/classify.ts";

await setBackend("wasm");

// tiny with room for the default prompt (30 characters + BOS + SEP) and a class name.
const c: MirasolConfig = validateConfig({
  ...tiny,
  name: "tiny-classify",
  text: { ...tiny.text, maxLength: 48 },
});
const V = c.text.vocab;

/** A character codec for the 40-id vocabulary: a-z -> 3..28, space -> 29, anything else UNK 2. */
const codec: PromptCodec = {
  encode: (text) =>
    Array.from(
      text.toLowerCase(),
      (ch) => (ch >= "a" && ch <= "z" ? 3 + ch.charCodeAt(0) - 97 : ch === " " ? 29 : 2),
    ),
  special: { bos: 30, sep: 31, eos: 1 },
};
const frame = (prompt: string) => [codec.special.bos, ...Array.from(codec.encode(prompt)), codec.special.sep];
const asClass = (name: string) => [...Array.from(codec.encode(name)), codec.special.eos];

const NAMES = ["dog", "dog bark", "cat", "rain", "a car engine", "violin"];

/** log p(continuation | prompt) from the full decoder over [prompt, continuation], as training scores it. */
function naiveScore(
  params: MirasolParams,
  h: tf.Tensor,
  row: number,
  prompt: number[],
  cont: number[],
): number {
  return tf.tidy(() => {
    const ids = [...prompt, ...cont], L = ids.length;
    const hRow = tf.slice(h, [row, 0, 0, 0], [1, -1, -1, -1]);
    const text = tf.tensor2d(Int32Array.from(ids), [1, L], "int32");
    const logp =
      tf.logSoftmax(textDecoder.apply(params.text_decoder, text, tf.ones([1, L]), hRow, { train: false }))
        .arraySync()[0];
    return cont.reduce((s, tok, j) => s + logp[prompt.length - 1 + j][tok], 0);
  });
}

Deno.test("scoreContinuations gives (1e-4) the summed log-probs of the full decoder, for prompts and classes of any length", () => {
  const params = init(PRNGKey(1), c);
  const media = exampleBatch(PRNGKey(2), c, { batch: 2 });
  const h = mediaContext(params, media, c);
  const prompts = [frame("what is it"), frame("hm")];
  const classes = NAMES.map(asClass);
  const scores = scoreContinuations(params, h, prompts, classes);
  prompts.forEach((prompt, row) =>
    classes.forEach((cont, k) => {
      const want = naiveScore(params, h, row, prompt, cont);
      assert.ok(
        Math.abs(scores[row][k] - want) < 1e-4,
        `row ${row} class ${NAMES[k]}: ${scores[row][k]} vs ${want}`,
      );
    })
  );
  // More classes than one decoder pass takes (32): later groups are scored the same way.
  const many = Array.from(
    { length: 70 },
    (_, k) => Array.from({ length: 1 + (k % 5) }, (_, j) => (7 * k + 3 * j) % V),
  );
  const manyScores = scoreContinuations(params, h, prompts, many);
  for (const k of [0, 31, 32, 33, 64, 69]) {
    const want = naiveScore(params, h, 1, prompts[1], many[k]);
    assert.ok(Math.abs(manyScores[1][k] - want) < 1e-4, `continuation ${k}: ${manyScores[1][k]} vs ${want}`);
  }
  tf.dispose([h, ...Object.values(media), ...treeLeaves(params as Tree)]);
});

Deno.test("classify ranks every class by its score (sum, or mean per token) and names it; EOS tells 'dog' from 'dog bark'", () => {
  const params = init(PRNGKey(3), c);
  const media = exampleBatch(PRNGKey(4), c, { batch: 2 });
  const h = mediaContext(params, media, c);
  const ranked = classifyFromContext(params, h, NAMES, { config: c, tokenizer: codec });
  const direct = classify(params, media, NAMES, { config: c, tokenizer: codec });
  assert.deepEqual(ranked, direct);
  ranked.forEach((list, row) => {
    assert.deepEqual([...list.map((s) => s.index)].sort(), NAMES.map((_, i) => i));
    list.forEach((s, i) => {
      assert.equal(s.name, NAMES[s.index]);
      assert.equal(s.length, asClass(s.name).length);
      assert.ok(
        Math.abs(s.logProb - naiveScore(params, h, row, frame(CLASSIFY_PROMPT), asClass(s.name))) < 1e-4,
      );
      if (i > 0) assert.ok(list[i - 1].score >= s.score, "not sorted best first");
    });
  });
  const dog = ranked[0].find((s) => s.name === "dog")!,
    dogBark = ranked[0].find((s) => s.name === "dog bark")!;
  assert.equal(dog.length, 4); // d, o, g, EOS
  assert.notEqual(dog.logProb, dogBark.logProb);
  const mean = classifyFromContext(params, h, NAMES, { config: c, tokenizer: codec, lengthNormalize: true });
  mean[0].forEach((s) => assert.ok(Math.abs(s.score - s.logProb / s.length) < 1e-9));
  assert.throws(() => classifyFromContext(params, h, [], { config: c, tokenizer: codec }), ConfigError);
  assert.throws(() => scoreContinuations(params, h, [2], [[V]]), ConfigError);
  tf.dispose([h, ...Object.values(media), ...treeLeaves(params as Tree)]);
});

Deno.test("classify ranks first a class that a few SGD steps on its continuation made likely (it was ranked last before)", () => {
  const params = init(PRNGKey(5), c);
  const media = exampleBatch(PRNGKey(6), c, { batch: 1 });
  const h = mediaContext(params, media, c);
  const before = classifyFromContext(params, h, NAMES, { config: c, tokenizer: codec })[0];
  const target = before[before.length - 1].name; // the least likely class
  const ids = [...frame(CLASSIFY_PROMPT), ...asClass(target)],
    L = ids.length,
    P = frame(CLASSIFY_PROMPT).length;
  const text = tf.tensor2d(Int32Array.from(ids), [1, L], "int32");
  const nll = valueAndGrad((p: MirasolParams["text_decoder"]) =>
    tf.tidy(() => {
      const logp = tf.logSoftmax(textDecoder.apply(p, text, tf.ones([1, L]), h, { train: false })); // [1, L, V]
      const pred = tf.slice(logp, [0, P - 1, 0], [1, L - P, V]); // predicts the class tokens
      const onehot = tf.oneHot(tf.tensor1d(Int32Array.from(ids.slice(P)), "int32"), V); // [L-P, V]
      return tf.neg(tf.sum(tf.mul(tf.reshape(pred, [L - P, V]), onehot))) as tf.Scalar;
    })
  );
  let decoder = params.text_decoder;
  for (let step = 0; step < 15; step++) {
    const { value, grads } = nll(decoder);
    const next = tf.tidy(() => {
      const g = treeLeaves(grads as Tree), leaves = treeLeaves(decoder as Tree);
      return leaves.map((w, i) => tf.sub(w, tf.mul(g[i], 0.05)));
    });
    const rebuilt = treeUnflatten(treeFlatten(decoder as Tree).treedef, next) as typeof decoder;
    if (decoder !== params.text_decoder) tf.dispose(treeLeaves(decoder as Tree));
    tf.dispose([value, ...treeLeaves(grads as Tree)]);
    decoder = rebuilt;
  }
  const after =
    classifyFromContext({ ...params, text_decoder: decoder }, h, NAMES, { config: c, tokenizer: codec })[0];
  assert.notEqual(before[0].name, target);
  assert.equal(after[0].name, target, `ranking after training: ${after.map((s) => s.name)}`);
  tf.dispose([
    h,
    text,
    ...Object.values(media),
    ...treeLeaves(params as Tree),
    ...treeLeaves(decoder as Tree),
  ]);
});
