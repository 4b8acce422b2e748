import assert from "node:assert/strict";
import fc from "fast-check";
import { splitWords, vocabularyOf, wordTokenizer } from "../../data/tokenizer/word.ts";
import {
  SYNTHETIC_DEFAULTS,
  syntheticQuestions,
  syntheticScene,
  syntheticVocabulary,
} from "../../data/synthetic.ts";
import { qaText } from "../../data/examples.ts";

Deno.test("wordTokenizer() encodes words and marks by a sorted vocabulary, unknown words as UNK", () => {
  const tok = wordTokenizer(["red", "was", "?", "it"]);
  assert.equal(tok.vocabSize, 5 + 4);
  // sorted: "?" (5), "it" (6), "red" (7), "was" (8)
  assert.deepEqual(Array.from(tok.encode("Was it RED?")), [8, 6, 7, 5]);
  assert.deepEqual(Array.from(tok.encode("was it blue?")), [8, 6, 2, 5]);
  assert.equal(tok.decode([3, 8, 6, 7, 5, 1, 0]), "was it red?");
  assert.throws(() => wordTokenizer(["two words"]), /"two words" is not one lower-case word/);
});

Deno.test("wordTokenizer() round-trips any text made of its vocabulary, up to case and spacing", () => {
  const vocab = ["a", "b", "cd", "?", ",", "ef"];
  const tok = wordTokenizer(vocab);
  fc.assert(
    fc.property(fc.array(fc.constantFrom(...vocab), { minLength: 1, maxLength: 12 }), (ws) => {
      const text = ws.join(" ");
      assert.deepEqual(splitWords(tok.decode(tok.encode(text))), splitWords(text));
    }),
    { numRuns: 300, seed: 9 },
  );
});

Deno.test("syntheticVocabulary() covers every question and answer the synthetic task can ask", () => {
  const tok = wordTokenizer(syntheticVocabulary(), "synthetic");
  const unknown = new Set<string>();
  for (let i = 0; i < 2000; i++) {
    for (const qa of syntheticQuestions(syntheticScene(11, i, SYNTHETIC_DEFAULTS))) {
      for (const text of [qa.question, qa.answer]) {
        splitWords(text).forEach((w, j) => tok.encode(text)[j] === 2 && unknown.add(w));
      }
    }
  }
  assert.deepEqual([...unknown], []);
  assert.deepEqual(syntheticVocabulary(), vocabularyOf(syntheticVocabulary()), "sorted and unique");
  // the longest QA example fits a 16-token text: BOS + question + SEP + answer + EOS
  const qa = { question: "did the square turn magenta before the tone?", answer: "yes" };
  assert.equal(Array.from(qaText(tok, qa, 16).textMask).reduce((a, b) => a + b, 0), 1 + 9 + 1 + 1 + 1);
});
