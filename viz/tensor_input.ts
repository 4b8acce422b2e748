/**
 * Reads what a user has at hand (a tfjs tensor, nested arrays, or a flat typed array with its shape)
 * into one dense row-major Float64Array. viz never imports tfjs: a tensor is anything with `shape`
 * and `dataSync()`, so the helpers work with every backend and with no backend at all.
 */
import { VizInputError } from "./errors.ts";

/** The part of a tf.Tensor that viz reads. */
export type TensorLike = {
  readonly shape: readonly number[];
  readonly dtype?: string;
  dataSync(): ArrayLike<number> | ArrayLike<string> | ArrayLike<boolean>;
};

export type NestedNumbers = number | boolean | readonly NestedNumbers[];

/** A flat array with its shape, e.g. `{ data: new Float32Array(64), shape: [8, 8] }`. */
export type FlatArray = {
  readonly data: ArrayLike<number> | ArrayLike<boolean>;
  readonly shape: readonly number[];
};

export type ArrayInput = TensorLike | FlatArray | readonly NestedNumbers[];

export type Dense = { readonly shape: readonly number[]; readonly values: Float64Array };

function isTensorLike(x: unknown): x is TensorLike {
  return typeof x === "object" && x !== null && Array.isArray((x as TensorLike).shape) &&
    typeof (x as TensorLike).dataSync === "function";
}

function isFlat(x: unknown): x is FlatArray {
  return typeof x === "object" && x !== null && !Array.isArray(x) && "data" in x && "shape" in x;
}

function toFloat(data: ArrayLike<unknown>, what: string): Float64Array {
  const out = new Float64Array(data.length);
  for (let i = 0; i < data.length; i++) {
    const v = data[i];
    if (typeof v === "number") out[i] = v;
    else if (typeof v === "boolean") out[i] = v ? 1 : 0;
    else throw new VizInputError(what, `expected numbers or booleans, got ${typeof v} at flat index ${i}`);
  }
  return out;
}

function nestedShape(x: readonly NestedNumbers[]): number[] {
  const shape: number[] = [];
  let level: NestedNumbers = x;
  while (Array.isArray(level)) {
    shape.push(level.length);
    if (level.length === 0) break;
    level = level[0];
  }
  return shape;
}

function flattenNested(x: readonly NestedNumbers[], shape: readonly number[], what: string): Float64Array {
  const out = new Float64Array(shape.reduce((a, b) => a * b, 1));
  let i = 0;
  const walk = (node: NestedNumbers, depth: number, path: readonly number[]): void => {
    if (depth === shape.length) {
      if (typeof node !== "number" && typeof node !== "boolean") {
        throw new VizInputError(
          what,
          `expected a number at [${path.join(", ")}], got ${JSON.stringify(node)}`,
        );
      }
      out[i++] = typeof node === "boolean" ? (node ? 1 : 0) : node;
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw new VizInputError(
        what,
        `expected a rectangular array of shape [${shape.join(", ")}], but [${path.join(", ")}] has ${
          Array.isArray(node) ? `length ${node.length}` : "no entries"
        }`,
      );
    }
    node.forEach((child, j) => walk(child, depth + 1, [...path, j]));
  };
  walk(x, 0, []);
  return out;
}

/** Reads `input` into a dense array; `what` names the call for error messages ("show mask"). */
export function readDense(input: ArrayInput, what: string): Dense {
  if (isTensorLike(input)) {
    if (input.dtype === "string" || input.dtype === "complex64") {
      throw new VizInputError(what, `expected a numeric or bool tensor, got dtype ${input.dtype}`);
    }
    return { shape: [...input.shape], values: toFloat(input.dataSync(), what) };
  }
  if (isFlat(input)) {
    const size = input.shape.reduce((a, b) => a * b, 1);
    if (input.data.length !== size) {
      throw new VizInputError(
        what,
        `shape [${input.shape.join(", ")}] holds ${size} values, but data has ${input.data.length}`,
      );
    }
    return { shape: [...input.shape], values: toFloat(input.data, what) };
  }
  if (Array.isArray(input)) {
    const shape = nestedShape(input);
    return { shape, values: flattenNested(input, shape, what) };
  }
  throw new VizInputError(what, `expected a tensor, a nested array or {data, shape}, got ${typeof input}`);
}

/** Like readDense, and checks the rank: `expect` names the axes for the message ("[T, T]"). */
export function readRank(input: ArrayInput, ranks: readonly number[], expect: string, what: string): Dense {
  const dense = readDense(input, what);
  if (!ranks.includes(dense.shape.length)) {
    throw new VizInputError(what, `expected shape ${expect}, got [${dense.shape.join(", ")}]`);
  }
  if (dense.shape.some((d) => d === 0)) {
    throw new VizInputError(what, `expected a non-empty array, got shape [${dense.shape.join(", ")}]`);
  }
  return dense;
}

export function minMax(values: Float64Array): { min: number; max: number } {
  let min = Infinity, max = -Infinity;
  for (const v of values) {
    if (!Number.isFinite(v)) continue;
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return { min, max };
}
