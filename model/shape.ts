/**
 * Shape checks at layer boundaries. A spec lists one entry per dimension: a number must match
 * exactly, a name ("B", "T") matches anything but must match the same size wherever it repeats in
 * the spec, and a leading "..." matches any number (zero or more) of leading dimensions.
 *
 *   const [B, T] = expectShape(x, ["B", "T", 64], "attention", "x"); // throws ShapeError otherwise
 */
import { ShapeError } from "./errors.ts";

export type DimSpec = number | string;
export type Shaped = { readonly shape: readonly number[] };

/** One number per spec entry (a tuple, so `const [B, T] = ...` is typed), or all dims after a "...". */
export type Dims<S extends readonly DimSpec[]> = S extends readonly ["...", ...DimSpec[]] ? number[]
  : { -readonly [K in keyof S]: number };

/** Renders a spec as it appears in error messages: `[B, T, 64]`, `[..., 64]`. */
export function formatSpec(spec: readonly DimSpec[]): string {
  return `[${spec.join(", ")}]`;
}

/**
 * Returns the dimensions of `x` when they match `spec`; throws a ShapeError naming `op` and `input`
 * otherwise. With a leading "...", the returned array still holds every dimension of `x`.
 */
export function expectShape<const S extends readonly DimSpec[]>(
  x: Shaped,
  spec: S,
  op: string,
  input: string,
): Dims<S> {
  const shape = [...x.shape];
  const fail = () => new ShapeError({ op, input, expected: formatSpec(spec), got: shape });
  const variadic = spec[0] === "...";
  const fixed = variadic ? spec.slice(1) : spec;
  if (fixed.includes("...")) throw fail();
  if (variadic ? shape.length < fixed.length : shape.length !== fixed.length) throw fail();
  const offset = shape.length - fixed.length;
  const bound = new Map<string, number>();
  fixed.forEach((want, i) => {
    const got = shape[offset + i];
    if (typeof want === "number") {
      if (got !== want) throw fail();
    } else {
      const seen = bound.get(want);
      if (seen !== undefined && seen !== got) throw fail();
      bound.set(want, got);
    }
  });
  return shape as Dims<S>;
}

/**
 * Checks that a mask or bias of shape `shape` broadcasts (numpy rules) to `target`, e.g. an attention
 * mask to [B, H, Tq, Tk]; throws a ShapeError naming `op` and `input` otherwise.
 */
export function expectBroadcastable(
  x: Shaped,
  target: readonly number[],
  names: readonly string[],
  op: string,
  input: string,
): void {
  const shape = x.shape;
  const offset = target.length - shape.length;
  const ok = offset >= 0 && shape.every((d, i) => d === 1 || d === target[offset + i]);
  if (!ok) {
    const expected = `broadcastable to [${names.map((n, i) => `${n}=${target[i]}`).join(", ")}]`;
    throw new ShapeError({ op, input, expected, got: [...shape] });
  }
}
