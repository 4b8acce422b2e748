import assert from "node:assert/strict";
import fc from "fast-check";
import { setBackend } from "../../transforms/backend.ts";
import { annotationText, captionText, qaText, toExample } from "../../data/examples.ts";
import { byteTokenizer } from "../../data/tokenizer/byte.ts";
import type { Clip } from "../../data/types.ts";
import { CLASSIFICATION_PROMPT } from "../../data/datasets/classification.ts";
import { CLASSIFY_PROMPT } from "../../inference/classify.ts";

await setBackend("wasm");

const tok = byteTokenizer();
const { bos, sep, eos, pad } = tok.special;
const text = fc.string({ unit: "grapheme", maxLength: 30 });

/** The real tokens of a framed text, ids only. */
const real = (t: { text: Int32Array; textMask: Uint8Array }) =>
  [...t.text].filter((_, i) => t.textMask[i] === 1);
const scored = (t: { text: Int32Array; lossMask: Uint8Array }) =>
  [...t.text].filter((_, i) => t.lossMask[i] === 1);

Deno.test("qaText() frames BOS question SEP answer EOS and scores exactly the answer and EOS when it fits", () => {
  fc.assert(
    fc.property(text, text, fc.integer({ min: 4, max: 120 }), (question, answer, L) => {
      const q = [...tok.encode(question)], a = [...tok.encode(answer)];
      fc.pre(q.length + a.length + 3 <= L);
      const t = qaText(tok, { question, answer }, L);
      assert.equal(t.text.length, L);
      assert.deepEqual(real(t), [bos, ...q, sep, ...a, eos]);
      assert.deepEqual(scored(t), [...a, eos]);
      assert.ok([...t.text].slice(q.length + a.length + 3).every((id) => id === pad));
      assert.ok([...t.lossMask].every((m, i) => m <= t.textMask[i]));
    }),
    { numRuns: 200, seed: 1 },
  );
});

Deno.test("qaText() truncates the question before the answer, and cuts an answer only when it alone overflows", () => {
  fc.assert(
    fc.property(text, text, fc.integer({ min: 4, max: 40 }), (question, answer, L) => {
      const q = [...tok.encode(question)], a = [...tok.encode(answer)];
      const t = qaText(tok, { question, answer }, L);
      const ids = real(t);
      assert.ok(ids.length <= L);
      assert.equal(ids[0], bos);
      const sepAt = ids.indexOf(sep);
      assert.deepEqual(ids.slice(1, sepAt), q.slice(0, sepAt - 1)); // a prefix of the question
      if (a.length + 3 <= L) {
        assert.deepEqual(ids.slice(sepAt + 1), [...a, eos]); // the whole answer survives
        assert.equal(ids.length, Math.min(L, q.length + a.length + 3));
      } else {
        assert.equal(sepAt, 1); // no room for any question
        assert.deepEqual(ids.slice(2), a.slice(0, L - 2)); // answer cut, no EOS: the text did not end
      }
    }),
    { numRuns: 200, seed: 2 },
  );
});

Deno.test("captionText() scores every caption token and EOS, never BOS or padding", () => {
  fc.assert(
    fc.property(text, fc.integer({ min: 4, max: 60 }), (caption, L) => {
      const c = [...tok.encode(caption)];
      const t = captionText(tok, caption, L);
      if (c.length + 2 <= L) {
        assert.deepEqual(real(t), [bos, ...c, eos]);
        assert.deepEqual(scored(t), [...c, eos]);
      } else {
        assert.deepEqual(real(t), [bos, ...c.slice(0, L - 1)]);
        assert.deepEqual(scored(t), c.slice(0, L - 1));
      }
      assert.equal(t.lossMask[0], 0);
    }),
    { numRuns: 200, seed: 3 },
  );
});

Deno.test("qaText() and captionText() refuse a length that cannot hold the framing", () => {
  assert.throws(
    () => qaText(tok, { question: "q", answer: "a" }, 3),
    /length must be an integer >= 4, got 3/,
  );
  assert.throws(() => captionText(tok, "c", 2.5), RangeError);
});

Deno.test("toExample() keeps the clip and adds the text fields", () => {
  const clip: Clip = {
    id: "c",
    video: new Float32Array(12),
    videoShape: [1, 2, 2, 3],
    audio: new Float32Array(8),
    audioShape: [4, 2],
    mediaMask: new Uint8Array([1]),
    hasAudio: false,
    fps: 25,
  };
  const e = toExample(clip, qaText(tok, { question: "what?", answer: "red" }, 16));
  assert.equal(e.video, clip.video);
  assert.equal(e.hasAudio, false);
  assert.equal(tok.decode(e.text), "what?red");
  assert.equal(tok.decode(e.text.filter((_, i) => e.lossMask[i] === 1)), "red");
});

Deno.test("annotationText() frames QA items as QA, and classification items as classify() prompts: BOS prompt SEP label EOS, the label scored", () => {
  const source = { file: "f", line: 2 };
  const qa = {
    kind: "qa" as const,
    id: "1",
    videoId: "v",
    video: "v.mp4",
    question: "colour?",
    answer: "red",
    source,
  };
  assert.deepEqual(annotationText(tok, qa, 20), qaText(tok, qa, 20));
  const cls = {
    kind: "classification" as const,
    id: "2",
    videoId: "v",
    video: "v.mp4",
    label: "dog barking",
    labelIndex: 0,
    source,
  };
  assert.equal(CLASSIFICATION_PROMPT, CLASSIFY_PROMPT, "training and classify() must use one prompt");
  const framed = annotationText(tok, cls, 64);
  assert.deepEqual(framed, qaText(tok, { question: CLASSIFY_PROMPT, answer: "dog barking" }, 64));
  // The prefix classify() feeds, then the label and EOS: exactly what is scored.
  const prompt = [bos, ...tok.encode(CLASSIFY_PROMPT), sep];
  assert.deepEqual(real(framed).slice(0, prompt.length), prompt);
  assert.deepEqual(scored(framed), [...tok.encode("dog barking"), eos]);
});
