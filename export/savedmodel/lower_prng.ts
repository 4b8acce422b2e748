/**
 * Lowering the PRNG kernels (transforms/prng_kernels.ts) to TensorFlow's integer ops, as JAX lowers
 * its Threefry to XLA: the same 20 rounds of uint32 adds, rotations and xors, so a graph draws for a
 * key exactly the bits TypeScript draws for it. Words travel as int32 in the traced graph (tfjs has
 * no uint32); here they are bitcast to uint32 for the arithmetic (wrapping adds, logical shifts) and
 * back. Every op used (AddV2, LeftShift, RightShift, BitwiseOr/Xor, Bitcast, Range) runs on CPU, GPU
 * and under XLA (TPU).
 *
 * Letters: k counters, n bits drawn.
 */
import type { LowerCtx, Rule, TfRef } from "./lower_ctx.ts";
import type { TfAttr } from "./tf_protos.ts";

const ROTATIONS = [[13, 15, 26, 6], [17, 29, 16, 24]] as const;
const PARITY = 0x1bd11bda;

const U32: TfAttr = { type: "uint32" };

function bitcast(
  c: LowerCtx,
  x: TfRef,
  from: "int32" | "uint32" | "float32",
  to: "int32" | "uint32" | "float32",
): TfRef {
  return c.op("Bitcast", [x], { T: { type: from }, type: { type: to } })[0];
}

/** uint32 scalar constants (written as the int32 of the same bits, then bitcast), one node per value and op. */
const constants = new WeakMap<LowerCtx, Map<number, TfRef>>();
function u32(c: LowerCtx, value: number): TfRef {
  let cache = constants.get(c);
  if (!cache) constants.set(c, cache = new Map());
  let ref = cache.get(value);
  if (!ref) cache.set(value, ref = bitcast(c, c.scalar(value | 0, "int32"), "int32", "uint32"));
  return ref;
}

const add = (c: LowerCtx, x: TfRef, y: TfRef) => c.op("AddV2", [x, y], { T: U32 }, [["z", 1]])[0];
const xor = (c: LowerCtx, x: TfRef, y: TfRef) => c.op("BitwiseXor", [x, y], { T: U32 }, [["z", 1]])[0];
const or = (c: LowerCtx, x: TfRef, y: TfRef) => c.op("BitwiseOr", [x, y], { T: U32 }, [["z", 1]])[0];
const shl = (c: LowerCtx, x: TfRef, r: number) =>
  c.op("LeftShift", [x, u32(c, r)], { T: U32 }, [["z", 1]])[0];
const shr = (c: LowerCtx, x: TfRef, r: number) =>
  c.op("RightShift", [x, u32(c, r)], { T: U32 }, [["z", 1]])[0];
const rotl = (c: LowerCtx, x: TfRef, r: number) => or(c, shl(c, x, r), shr(c, x, 32 - r));

function slice(c: LowerCtx, x: TfRef, begin: number, size: number): TfRef {
  return c.op("Slice", [x, c.ints([begin]), c.ints([size])], { T: U32, Index: { type: "int32" } })[0];
}

/** key uint32 [2], x0/x1 uint32 [h] -> the two output words [h] each (threefry.ts threefry2x32, vectorised). */
function threefry2x32(c: LowerCtx, key: TfRef, x0: TfRef, x1: TfRef): [TfRef, TfRef] {
  const k0 =
    c.op("Reshape", [slice(c, key, 0, 1), c.ints([], [0])], { T: U32, Tshape: { type: "int32" } })[0];
  const k1 =
    c.op("Reshape", [slice(c, key, 1, 1), c.ints([], [0])], { T: U32, Tshape: { type: "int32" } })[0];
  const ks = [k0, k1, xor(c, xor(c, k0, k1), u32(c, PARITY))];
  let a = add(c, x0, ks[0]), b = add(c, x1, ks[1]);
  for (let i = 0; i < 5; i++) {
    for (const r of ROTATIONS[i % 2]) {
      a = add(c, a, b);
      b = xor(c, rotl(c, b, r), a);
    }
    a = add(c, a, ks[(i + 1) % 3]);
    b = add(c, add(c, b, ks[(i + 2) % 3]), u32(c, i + 1));
  }
  return [a, b];
}

/** jax's threefry_2x32(key, counts): counts [k] (k even) hashed as pairs (first half, second half). */
function hash(c: LowerCtx, key: TfRef, counts: TfRef, k: number): TfRef {
  const half = k / 2;
  const [a, b] = threefry2x32(c, key, slice(c, counts, 0, half), slice(c, counts, half, half));
  return c.op("ConcatV2", [a, b, c.ints([0], [])], { N: { i: 2 }, T: U32, Tidx: { type: "int32" } })[0];
}

/** Counters [k] -> bits [k]; an odd k is padded with one 0 whose output is dropped (as the host does). */
function hashAny(c: LowerCtx, key: TfRef, counts: TfRef, k: number): TfRef {
  if (k % 2 === 0) return hash(c, key, counts, k);
  const padded = c.op("ConcatV2", [
    counts,
    c.op("Reshape", [u32(c, 0), c.ints([1])], { T: U32, Tshape: { type: "int32" } })[0],
    c.ints([0], []),
  ], {
    N: { i: 2 },
    T: U32,
    Tidx: { type: "int32" },
  })[0];
  return slice(c, hash(c, key, padded, k + 1), 0, k);
}

const keyOf = (c: LowerCtx) => bitcast(c, c.input(0), "int32", "uint32");

export const PRNG_LOWERINGS: Readonly<Record<string, Rule>> = {
  ThreefryHash: (c) => {
    const k = c.inputValue(1).shape[0];
    return [
      bitcast(c, hashAny(c, keyOf(c), bitcast(c, c.input(1), "int32", "uint32"), k), "uint32", "int32"),
    ];
  },
  ThreefryBits: (c, a) => {
    const shape = a.shape as number[], n = shape.reduce((x, y) => x * y, 1);
    const iota = c.op("Range", [c.scalar(0, "int32"), c.scalar(n, "int32"), c.scalar(1, "int32")], {
      Tidx: { type: "int32" },
    })[0];
    const bits = hashAny(c, keyOf(c), bitcast(c, iota, "int32", "uint32"), n); // [n]
    const int = bitcast(c, bits, "uint32", "int32");
    return [c.op("Reshape", [int, c.ints(shape)], { T: { type: "int32" }, Tshape: { type: "int32" } })[0]];
  },
  BitsToUnitFloat: (c) => {
    // (bits >>> 9) | 0x3f800000 is a float in [1, 2): minus 1 gives [0, 1) with 23 random bits.
    const bits = bitcast(c, c.input(0), "int32", "uint32");
    const one = bitcast(c, or(c, shr(c, bits, 9), u32(c, 0x3f800000)), "uint32", "float32");
    const oneF32: TfAttr = {
      tensor: { dtype: "float32", shape: [], content: new Uint8Array(new Float32Array([1]).buffer) },
    };
    const unit = c.op("Sub", [one, c.op("Const", [], { value: oneF32, dtype: { type: "float32" } })[0]], {
      T: { type: "float32" },
    }, [["z", 1]])[0];
    const compute = c.dt("float32");
    return [
      compute === "float32"
        ? unit
        : c.op("Cast", [unit], { SrcT: { type: "float32" }, DstT: { type: compute } }, [["y", 1]])[0],
    ];
  },
  StopGradient: (c) => c.op("StopGradient", [c.input(0)], { T: { type: c.dt(c.inputValue(0).dtype) } }),
};
