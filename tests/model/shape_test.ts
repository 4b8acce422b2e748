import assert from "node:assert/strict";
import fc from "fast-check";
import { expectBroadcastable, expectShape } from "../../model/shape.ts";
import { ShapeError } from "../../model/errors.ts";

const shaped = (shape: number[]) => ({ shape });

Deno.test("expectShape returns the dims when numbers match exactly and names match consistently", () => {
  assert.deepEqual(expectShape(shaped([2, 5, 64]), ["B", "T", 64], "attention", "x"), [2, 5, 64]);
  assert.deepEqual(expectShape(shaped([3, 3]), ["N", "N"], "op", "m"), [3, 3]);
  assert.deepEqual(expectShape(shaped([7]), ["...", 7], "dense", "x"), [7]);
  assert.deepEqual(expectShape(shaped([1, 2, 3, 7]), ["...", 7], "dense", "x"), [1, 2, 3, 7]);
});

Deno.test("expectShape throws a ShapeError with the documented message", () => {
  assert.throws(
    () => expectShape(shaped([2, 5, 32]), ["B", "T", 64], "attention", "x"),
    (e: unknown) =>
      e instanceof ShapeError &&
      e.message === "Cannot apply attention to x: expected shape [B, T, 64], got [2, 5, 32]",
  );
  assert.throws(
    () => expectShape(shaped([3, 4]), ["N", "N"], "op", "m"),
    /expected shape \[N, N\], got \[3, 4\]/,
  );
  assert.throws(
    () => expectShape(shaped([]), ["...", 7], "dense", "x"),
    /expected shape \[\.\.\., 7\], got \[\]/,
  );
});

Deno.test("expectShape accepts exactly the shapes that fit a random spec", () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 5 }),
      fc.array(fc.integer({ min: 1, max: 4 }), { maxLength: 5 }),
      (spec, shape) => {
        const ok = spec.length === shape.length && spec.every((d, i) => d === shape[i]);
        if (ok) assert.deepEqual(expectShape(shaped(shape), spec, "op", "x"), shape);
        else assert.throws(() => expectShape(shaped(shape), spec, "op", "x"), ShapeError);
      },
    ),
    { numRuns: 200, seed: 9 },
  );
});

Deno.test("expectBroadcastable follows numpy rules and names the target dims on failure", () => {
  expectBroadcastable(shaped([4, 4]), [2, 3, 4, 4], ["B", "H", "Tq", "Tk"], "attention", "mask");
  expectBroadcastable(shaped([2, 1, 1, 4]), [2, 3, 4, 4], ["B", "H", "Tq", "Tk"], "attention", "mask");
  assert.throws(
    () => expectBroadcastable(shaped([3, 4]), [2, 3, 4, 4], ["B", "H", "Tq", "Tk"], "attention", "mask"),
    (e: unknown) =>
      e instanceof ShapeError &&
      e.message ===
        "Cannot apply attention to mask: expected shape broadcastable to [B=2, H=3, Tq=4, Tk=4], got [3, 4]",
  );
  assert.throws(
    () =>
      expectBroadcastable(shaped([1, 2, 1, 4, 4]), [2, 3, 4, 4], ["B", "H", "Tq", "Tk"], "attention", "mask"),
    ShapeError,
  );
});
