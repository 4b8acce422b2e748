// fast-check properties for transforms/gradients/: random shapes, broadcasts, axes and slice specs,
// each checked against central differences on cpu and wasm.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import "../../transforms/gradients/mod.ts";
import {
  checkGradient,
  distinct,
  distinctSplit,
  type GradCase,
  GRADIENT_BACKENDS,
  normal,
  type Rng,
  uniform,
} from "./gradients_numeric.ts";

await setBackend("wasm");

const dims = (min: number, max: number, maxLength: number, minLength = 0) =>
  fc.array(fc.integer({ min, max }), { minLength, maxLength });

/** An output shape and two input shapes that broadcast to it (missing leading axes, or size 1). */
const broadcastShapes = dims(1, 3, 3).chain((out) => {
  const side = fc.tuple(
    fc.integer({ min: 0, max: out.length }),
    fc.array(fc.boolean(), { minLength: out.length, maxLength: out.length }),
  )
    .map(([drop, ones]) => out.slice(drop).map((d, i) => (ones[i + drop] ? 1 : d)));
  return fc.tuple(side, side);
});

const BINARY: Record<
  string,
  [(a: tf.Tensor, b: tf.Tensor) => tf.Tensor, (r: Rng, sa: number[], sb: number[]) => tf.Tensor[]]
> = {
  Add: [tf.add, (r, sa, sb) => [normal(r, sa), normal(r, sb)]],
  Sub: [tf.sub, (r, sa, sb) => [normal(r, sa), normal(r, sb)]],
  Multiply: [tf.mul, (r, sa, sb) => [normal(r, sa), normal(r, sb)]],
  RealDiv: [tf.div, (r, sa, sb) => [normal(r, sa), uniform(r, sb, 0.5, 2)]],
  SquaredDifference: [tf.squaredDifference, (r, sa, sb) => [normal(r, sa), normal(r, sb)]],
  Maximum: [tf.maximum, (r, sa, sb) => distinctSplit(r, [sa, sb])],
  Minimum: [tf.minimum, (r, sa, sb) => distinctSplit(r, [sa, sb])],
  Pow: [tf.pow, (r, sa, sb) => [uniform(r, sa, 0.5, 1.5), normal(r, sb)]],
};

/** One property per backend: fc.assert with a fixed seed, the case built from the generated spec. */
function gradientProperty<T>(
  claim: string,
  arb: fc.Arbitrary<T>,
  toCase: (spec: T) => GradCase,
  numRuns = 100,
) {
  for (const backend of GRADIENT_BACKENDS) {
    Deno.test(`${claim} (${backend})`, async () => {
      await setBackend(backend);
      fc.assert(
        fc.property(arb, fc.nat(), (spec, seed) => {
          const c = toCase(spec);
          const { error, worst } = checkGradient(c, seed);
          assert.ok(
            error < 5e-3,
            `${c.kernel} ${c.name}: relative error ${error.toExponential(2)} at ${worst}`,
          );
        }),
        { numRuns, seed: 20261124 },
      );
    });
  }
}

gradientProperty(
  "binary kernel gradients reduce correctly over any broadcast",
  fc.tuple(fc.constantFrom(...Object.keys(BINARY)), broadcastShapes),
  ([kernel, [sa, sb]]) => {
    const [f, inputs] = BINARY[kernel];
    return { kernel, name: `[${sa}] with [${sb}]`, inputs: (r) => inputs(r, sa, sb), f };
  },
);

/** Batch shapes that tfjs multiplies correctly: each side is the output batch's suffix, padded with 1s. */
const matMulSpec = fc.record({
  batch: dims(1, 3, 2),
  keepA: fc.nat(2),
  keepB: fc.nat(2),
  padA: fc.boolean(),
  padB: fc.boolean(),
  m: fc.integer({ min: 1, max: 3 }),
  k: fc.integer({ min: 1, max: 3 }),
  n: fc.integer({ min: 1, max: 3 }),
  transposeA: fc.boolean(),
  transposeB: fc.boolean(),
});

gradientProperty("BatchMatMul gradients hold for any transposes and batch broadcast", matMulSpec, (s) => {
  const side = (keep: number, pad: boolean) => {
    const tail = s.batch.slice(Math.max(0, s.batch.length - keep));
    return pad ? [...s.batch.slice(0, s.batch.length - tail.length).map(() => 1), ...tail] : tail;
  };
  const sa = [...side(s.keepA, s.padA), ...(s.transposeA ? [s.k, s.m] : [s.m, s.k])];
  const sb = [...side(s.keepB, s.padB), ...(s.transposeB ? [s.n, s.k] : [s.k, s.n])];
  return {
    kernel: "BatchMatMul",
    name: `[${sa}] @ [${sb}] tA=${s.transposeA} tB=${s.transposeB}`,
    inputs: (r) => [normal(r, sa), normal(r, sb)],
    f: (a, b) => tf.matMul(a, b, s.transposeA, s.transposeB),
  };
});

const REDUCE: Record<string, (x: tf.Tensor, axis: number[] | undefined, keepDims: boolean) => tf.Tensor> = {
  Sum: tf.sum,
  Mean: tf.mean,
  Max: tf.max,
  Min: tf.min,
  Prod: tf.prod,
};

const reductionSpec = dims(1, 3, 3, 1).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    kernel: fc.constantFrom(...Object.keys(REDUCE)),
    axes: fc.option(fc.uniqueArray(fc.nat(shape.length - 1), { minLength: 1, maxLength: shape.length }), {
      nil: undefined,
    }),
    negative: fc.boolean(),
    keepDims: fc.boolean(),
  })
);

gradientProperty(
  "reduction gradients hold for any axes, negative or not, with and without keepDims",
  reductionSpec,
  (s) => {
    const axes = s.axes && (s.negative ? s.axes.map((a) => a - s.shape.length) : s.axes);
    return {
      kernel: s.kernel,
      name: `[${s.shape}] axes ${axes} keepDims ${s.keepDims}`,
      inputs: (r) => [s.kernel === "Prod" ? uniform(r, s.shape, 0.5, 1.5) : distinct(r, s.shape)],
      f: (x) => REDUCE[s.kernel](x, axes, s.keepDims),
    };
  },
);

/** Any strided slice spec: begins and ends past either end, strides in [-3, 3], masks on any axis. */
const stridedSpec = dims(1, 5, 3, 1).chain((shape) => {
  const perAxis = shape.map((d) =>
    fc.record({
      begin: fc.integer({ min: -d - 1, max: d + 1 }),
      end: fc.integer({ min: -d - 1, max: d + 1 }),
      stride: fc.integer({ min: -3, max: 3 }).filter((v) => v !== 0),
      beginMasked: fc.boolean(),
      endMasked: fc.boolean(),
      shrink: fc.integer({ min: -d, max: d - 1 }).map((i) => ({ i })).chain((v) =>
        fc.option(fc.constant(v.i), { freq: 4 })
      ),
    })
  );
  // tfjs 4.22's StridedSlice kernels (cpu and wasm) index the wrong elements when shrinking an axis
  // while another stride is not 1 (x[0, 0, :0:-1] on [1, 1, 2] gives x[0, 0, 0]; TF gives x[0, 0, 1]),
  // so the forward is only trusted without that combination.
  return fc.tuple(fc.constant(shape), fc.tuple(...perAxis))
    .filter(([, axes]) =>
      axes.every((a) => a.shrink == null) || axes.every((a) => a.shrink != null || a.stride === 1)
    );
});

gradientProperty(
  "StridedSlice gradients put dy back for any begin, end, stride and masks",
  stridedSpec,
  ([shape, axes]) => {
    const bit = (on: (a: (typeof axes)[number]) => boolean) =>
      axes.reduce((m, a, i) => (on(a) ? m | (1 << i) : m), 0);
    const begin = axes.map((a) => a.shrink ?? a.begin),
      end = axes.map((a) => (a.shrink != null ? a.shrink + 1 : a.end));
    const strides = axes.map((a) => (a.shrink != null ? 1 : a.stride));
    const beginMask = bit((a) => a.shrink == null && a.beginMasked),
      endMask = bit((a) => a.shrink == null && a.endMasked);
    const shrinkMask = bit((a) => a.shrink != null);
    return {
      kernel: "StridedSlice",
      name:
        `[${shape}] begin ${begin} end ${end} strides ${strides} masks ${beginMask}/${endMask}/${shrinkMask}`,
      inputs: (r) => [normal(r, shape)],
      f: (x) => tf.stridedSlice(x, begin, end, strides, beginMask, endMask, 0, 0, shrinkMask),
    };
  },
);

const gatherSpec = dims(1, 4, 3, 1).chain((shape) =>
  fc.record({
    shape: fc.constant(shape),
    axis: fc.nat(shape.length - 1),
    negative: fc.boolean(),
    indexShape: dims(1, 3, 2),
  }).chain((s) => {
    const count = s.indexShape.reduce((n, d) => n * d, 1);
    return fc.tuple(
      fc.constant(s),
      fc.array(fc.nat(shape[s.axis] - 1), { minLength: count, maxLength: count }),
    );
  })
);

gradientProperty("GatherV2 gradients sum repeated indices along any axis", gatherSpec, ([s, idx]) => {
  const axis = s.negative ? s.axis - s.shape.length : s.axis;
  return {
    kernel: "GatherV2",
    name: `[${s.shape}] axis ${axis} indices [${s.indexShape}] ${idx}`,
    inputs: (r) => [normal(r, s.shape)],
    f: (x) => tf.gather(x, tf.tensor(idx, s.indexShape, "int32"), axis),
  };
});

/** Random permutations, concats, tiles and pads of a random-shaped x. */
const movementSpec = dims(1, 3, 3, 1).chain((shape) =>
  fc.oneof(
    fc.shuffledSubarray(shape.map((_, i) => i), { minLength: shape.length, maxLength: shape.length })
      .map((perm) => ({
        shape,
        kernel: "Transpose",
        name: `perm ${perm}`,
        f: (x: tf.Tensor) => tf.transpose(x, perm),
      })),
    fc.tuple(fc.nat(shape.length - 1), fc.integer({ min: 2, max: 3 }))
      .map(([axis, copies]) => ({
        shape,
        kernel: "Concat",
        name: `${copies} parts on axis ${axis}`,
        f: (x: tf.Tensor) => tf.concat(Array.from({ length: copies }, (_, i) => tf.mul(x, i + 1)), axis),
      })),
    fc.array(fc.integer({ min: 1, max: 3 }), { minLength: shape.length, maxLength: shape.length })
      .map((reps) => ({
        shape,
        kernel: "Tile",
        name: `reps ${reps}`,
        f: (x: tf.Tensor) => tf.tile(x, reps),
      })),
    fc.array(fc.tuple(fc.nat(2), fc.nat(2)), { minLength: shape.length, maxLength: shape.length })
      .map((pads) => ({
        shape,
        kernel: "PadV2",
        name: `pads ${JSON.stringify(pads)}`,
        f: (x: tf.Tensor) => tf.square(tf.pad(x, pads, 0.5)),
      })),
  )
);

gradientProperty(
  "data-movement gradients (transpose, concat, tile, pad) are the adjoint moves",
  movementSpec,
  (s) => ({
    kernel: s.kernel,
    name: `[${s.shape}] ${s.name}`,
    inputs: (r) => [normal(r, s.shape)],
    f: s.f,
  }),
);
