import assert from "node:assert/strict";
import fc from "fast-check";
import {
  accuracyOf,
  emptyTally,
  exactMatch,
  isExactMatch,
  normalizeAnswer,
  tallyAdd,
} from "../../inference/eval.ts";

Deno.test("normalizeAnswer() strips case, punctuation, articles and spacing, keeps decimals", () => {
  assert.equal(normalizeAnswer("  The Red  square!! "), "red square");
  assert.equal(normalizeAnswer("an apple, a pear."), "apple pear");
  assert.equal(normalizeAnswer("Two"), "2");
  assert.equal(normalizeAnswer("3.5 kg"), "3.5 kg");
  assert.equal(normalizeAnswer("playing-drums"), "playing drums");
  assert.equal(normalizeAnswer("theory"), "theory", "an article inside a word stays");
});

Deno.test("normalizeAnswer() is idempotent", () => {
  fc.assert(
    fc.property(fc.string({ unit: "grapheme", maxLength: 40 }), (s) => {
      const once = normalizeAnswer(s);
      assert.equal(normalizeAnswer(once), once);
    }),
    { numRuns: 500, seed: 5 },
  );
});

Deno.test("exactMatch() scores against any accepted answer and reports accuracy", () => {
  const { accuracy, correct } = exactMatch(["Red", "very high", "no"], [["red", "crimson"], "high", "No."]);
  assert.deepEqual(correct, [true, false, true]);
  assert.equal(accuracy, 2 / 3);
  assert.throws(() => exactMatch(["a"], []), /1 predictions against 0 answers/);
  assert.ok(isExactMatch("Yes", "yes"));
});

Deno.test("tallyAdd() accumulates overall and per-group accuracy", () => {
  let t = emptyTally();
  for (
    const [prediction, answers, group] of [["red", "red", "a"], ["blue", "red", "a"], [
      "yes",
      "yes",
      "d",
    ]] as const
  ) {
    t = tallyAdd(t, { prediction, answers, group });
  }
  assert.equal(accuracyOf(t.total), 2 / 3);
  assert.equal(accuracyOf(t.byGroup.a), 0.5);
  assert.equal(accuracyOf(t.byGroup.d), 1);
});
