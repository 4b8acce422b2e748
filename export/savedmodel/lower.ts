/**
 * Lowering a traced graph (tfjs kernels) to TensorFlow ops: the kernel -> TF op table. tfjs and TF
 * differ in names (Multiply -> Mul, BatchMatMul -> BatchMatMulV2), in attr names (transposeA ->
 * adj_x), and in what is an attr: TF takes shapes, axes, permutations and slice bounds as *inputs*,
 * which become Const nodes here (XLA needs them to be compile-time constants). Every TF op also needs
 * its dtype attrs (`T`, `Tidx`, ...) set, which tfjs leaves implicit.
 *
 * With `computeDtype: "bfloat16"` every float32 value inside the graph becomes bfloat16 (TPU's
 * native type); float32 arguments are cast on the way in and float outputs cast back to float32.
 */
import * as tf from "@tensorflow/tfjs-core";
import type { Graph, TracedValue, TraceNode, TraceSite, ValueId } from "../../transforms/trace.ts";
import { UnsupportedOpError } from "./errors.ts";
import type { ComputeDtype, LowerCtx, Lowered, Rule, TfNode, TfRef } from "./lower_ctx.ts";
import { PRNG_LOWERINGS } from "./lower_prng.ts";
import type { TensorValue, TfAttr, TfDtype } from "./tf_protos.ts";

export type { ComputeDtype, LowerCtx, Lowered, TfNode, TfRef } from "./lower_ctx.ts";

const unary = (op: string, out = "y"): Rule => (c) =>
  c.op(op, [c.input(0)], { T: { type: c.dt(c.inputValue(0).dtype) } }, [[out, 1]]);
const binary = (op: string): Rule => (c) =>
  c.op(op, [c.input(0), c.input(1)], { T: { type: c.dt(c.inputValue(0).dtype) } }, [["z", 1]]);
const logical = (op: string): Rule => (c) => c.op(op, [c.input(0), c.input(1)], {}, [["z", 1]]);
const T = (c: LowerCtx, i = 0) => ({ type: c.dt(c.inputValue(i).dtype) });

function axes(c: LowerCtx, axis: number | number[]): number[] {
  return tf.util.parseAxisParam(axis, [...c.inputValue(0).shape]);
}

const reduction = (op: string, axisAttr = "axis", typed = true): Rule => (c, a) =>
  c.op(op, [c.input(0), c.ints(axes(c, a[axisAttr]))], {
    ...(typed ? { T: T(c) } : {}),
    Tidx: { type: "int32" },
    keep_dims: { b: !!a.keepDims },
  }, [["output", 1]]);

const argReduction = (op: string): Rule => (c, a) =>
  c.op(op, [c.input(0), c.ints([axes(c, a.axis)[0]], [])], {
    T: T(c),
    Tidx: { type: "int32" },
    output_type: { type: "int32" },
  }, [["output", 1]]);

function padding(pad: unknown, rank: number, where: string): Record<string, TfAttr> {
  if (pad === "valid" || pad === "same") return { padding: { s: String(pad).toUpperCase() } };
  if (typeof pad === "number" && rank === 4) {
    return { padding: { s: "EXPLICIT" }, explicit_paddings: { listI: [0, 0, pad, pad, pad, pad, 0, 0] } };
  }
  if (Array.isArray(pad) && rank === 4) {
    return { padding: { s: "EXPLICIT" }, explicit_paddings: { listI: pad.flat() as number[] } };
  }
  throw new Error(`${where}: padding ${JSON.stringify(pad)} has no TensorFlow form`);
}

const spatial = (
  v: number | number[],
  n: number,
): number[] => [1, ...(typeof v === "number" ? Array(n).fill(v) : v), 1];

export const LOWERINGS: Readonly<Record<string, Rule>> = {
  ...PRNG_LOWERINGS,
  Add: binary("AddV2"),
  Sub: binary("Sub"),
  Multiply: binary("Mul"),
  RealDiv: binary("RealDiv"),
  FloorDiv: binary("FloorDiv"),
  Mod: binary("FloorMod"),
  Maximum: binary("Maximum"),
  Minimum: binary("Minimum"),
  Pow: binary("Pow"),
  SquaredDifference: binary("SquaredDifference"),
  Atan2: binary("Atan2"),
  Equal: binary("Equal"),
  NotEqual: binary("NotEqual"),
  Less: binary("Less"),
  LessEqual: binary("LessEqual"),
  Greater: binary("Greater"),
  GreaterEqual: binary("GreaterEqual"),
  LogicalAnd: logical("LogicalAnd"),
  LogicalOr: logical("LogicalOr"),
  LogicalNot: (c) => c.op("LogicalNot", [c.input(0)], {}, [["y", 1]]),
  ...Object.fromEntries(
    [
      "Abs",
      "Acos",
      "Acosh",
      "Asin",
      "Asinh",
      "Atan",
      "Atanh",
      "Ceil",
      "Cos",
      "Cosh",
      "Erf",
      "Exp",
      "Expm1",
      "Floor",
      "Log",
      "Log1p",
      "Neg",
      "Reciprocal",
      "Round",
      "Rsqrt",
      "Sigmoid",
      "Sign",
      "Sin",
      "Sinh",
      "Sqrt",
      "Square",
      "Tan",
      "Tanh",
      "IsNan",
      "IsInf",
      "IsFinite",
      "ZerosLike",
      "OnesLike",
    ].map((k) => [k, unary(k)]),
  ),
  ...Object.fromEntries(
    ["Relu", "Relu6", "Elu", "Selu", "Softplus"].map((k) => [k, unary(k, "activations")]),
  ),
  Identity: unary("Identity", "output"),
  LeakyRelu: (c, a) =>
    c.op("LeakyRelu", [c.input(0)], { T: T(c), alpha: { f: a.alpha } }, [["activations", 1]]),
  ClipByValue: (c, a) => {
    const dtype = c.inputValue(0).dtype;
    return c.op(
      "ClipByValue",
      [c.input(0), c.scalar(a.clipValueMin, dtype), c.scalar(a.clipValueMax, dtype)],
      { T: T(c) },
      [["output", 1]],
    );
  },
  Step: (c, a) => {
    const dtype = c.inputValue(0).dtype;
    const positive = c.op("Greater", [c.input(0), c.scalar(0, dtype)], { T: T(c) }, [["z", 1]])[0];
    const ones = c.op("OnesLike", [c.input(0)], { T: T(c) })[0];
    const alpha = c.op("Fill", [c.ints([...c.inputValue(0).shape]), c.scalar(a.alpha ?? 0, dtype)], {
      T: T(c),
      index_type: { type: "int32" },
    })[0];
    return c.op("SelectV2", [positive, ones, alpha], { T: T(c) });
  },
  Softmax: (c, a) => {
    const rank = c.inputValue(0).shape.length;
    if (a.dim !== -1 && a.dim !== rank - 1) {
      throw new Error(
        `softmax over axis ${a.dim} of a rank-${rank} tensor; TensorFlow's Softmax takes the last axis only`,
      );
    }
    return c.op("Softmax", [c.input(0)], { T: T(c) }, [["softmax", 1]]);
  },
  LogSoftmax: (c, a) => {
    const rank = c.inputValue(0).shape.length;
    if (a.axis !== -1 && a.axis !== rank - 1) {
      throw new Error(`logSoftmax over axis ${a.axis}; TensorFlow's LogSoftmax takes the last axis only`);
    }
    return c.op("LogSoftmax", [c.input(0)], { T: T(c) }, [["logsoftmax", 1]]);
  },
  BatchMatMul: (c, a) =>
    c.op("BatchMatMulV2", [c.input(0), c.input(1)], {
      T: T(c),
      adj_x: { b: !!a.transposeA },
      adj_y: { b: !!a.transposeB },
    }),
  Einsum: (c, a) => {
    const ins = c.node.inputs.map((_, i) => c.input(i));
    return c.op("Einsum", ins, { equation: { s: a.equation }, N: { i: ins.length }, T: T(c) });
  },
  AddN: (c) => {
    const ins = c.node.inputs.map((_, i) => c.input(i));
    return c.op("AddN", ins, { N: { i: ins.length }, T: T(c) }, [["sum", 1]]);
  },
  Sum: reduction("Sum"),
  Mean: reduction("Mean"),
  Prod: reduction("Prod"),
  Min: reduction("Min"),
  Max: reduction("Max", "reductionIndices"),
  All: reduction("All", "axis", false),
  Any: reduction("Any", "axis", false),
  ArgMax: argReduction("ArgMax"),
  ArgMin: argReduction("ArgMin"),
  Cast: (c, a) => {
    const src = c.dt(c.inputValue(0).dtype), dst = c.dt(a.dtype);
    if (src === dst) return c.op("Identity", [c.input(0)], { T: { type: src } });
    return c.op("Cast", [c.input(0)], { SrcT: { type: src }, DstT: { type: dst } }, [["y", 1]]);
  },
  Reshape: (c) =>
    c.op("Reshape", [c.input(0), c.ints([...c.node.outs[0].shape])], { T: T(c), Tshape: { type: "int32" } }),
  Transpose: (c, a) =>
    c.op("Transpose", [c.input(0), c.ints(a.perm)], { T: T(c), Tperm: { type: "int32" } }, [["y", 1]]),
  BroadcastTo: (c) =>
    c.op("BroadcastTo", [c.input(0), c.ints([...c.node.outs[0].shape])], {
      T: T(c),
      Tidx: { type: "int32" },
    }),
  Tile: (c, a) => c.op("Tile", [c.input(0), c.ints(a.reps)], { T: T(c), Tmultiples: { type: "int32" } }),
  PadV2: (c, a) =>
    c.op("PadV2", [
      c.input(0),
      c.ints((a.paddings as number[][]).flat(), [a.paddings.length, 2]),
      c.scalar(a.constantValue ?? 0, c.inputValue(0).dtype),
    ], {
      T: T(c),
      Tpaddings: { type: "int32" },
    }),
  MirrorPad: (c, a) =>
    c.op("MirrorPad", [c.input(0), c.ints((a.paddings as number[][]).flat(), [a.paddings.length, 2])], {
      T: T(c),
      Tpaddings: { type: "int32" },
      mode: { s: String(a.mode).toUpperCase() },
    }),
  Reverse: (c, a) =>
    c.op("ReverseV2", [c.input(0), c.ints(axes(c, a.dims))], { T: T(c), Tidx: { type: "int32" } }),
  Concat: (c, a) => {
    const ins = c.node.inputs.map((_, i) => c.input(i));
    const axis = axes(c, a.axis)[0];
    if (ins.length === 1) return c.op("Identity", ins, { T: T(c) });
    return c.op("ConcatV2", [...ins, c.ints([axis], [])], {
      N: { i: ins.length },
      T: T(c),
      Tidx: { type: "int32" },
    });
  },
  Pack: (c, a) => {
    const ins = c.node.inputs.map((_, i) => c.input(i));
    return c.op("Pack", ins, { N: { i: ins.length }, T: T(c), axis: { i: a.axis } });
  },
  Unpack: (c, a) => {
    const n = c.node.outs.length;
    return c.op("Unpack", [c.input(0)], { num: { i: n }, T: T(c), axis: { i: a.axis } }, [["output", n]]);
  },
  SplitV: (c) => {
    const x = c.inputValue(0), outs = c.node.outs;
    const axis = x.shape.findIndex((d, i) => outs.some((o) => o.shape[i] !== d));
    const ax = axis < 0 ? 0 : axis;
    return c.op("SplitV", [c.input(0), c.ints(outs.map((o) => o.shape[ax])), c.ints([ax], [])], {
      num_split: { i: outs.length },
      T: T(c),
      Tlen: { type: "int32" },
    }, [["output", outs.length]]);
  },
  Slice: (c, a) => {
    const [begin] = tf.slice_util.parseSliceParams(
      { shape: [...c.inputValue(0).shape] } as tf.TensorInfo,
      a.begin,
      a.size,
    );
    return c.op("Slice", [c.input(0), c.ints(begin), c.ints([...c.node.outs[0].shape])], {
      T: T(c),
      Index: { type: "int32" },
    });
  },
  StridedSlice: (c, a) =>
    c.op("StridedSlice", [c.input(0), c.ints(a.begin), c.ints(a.end), c.ints(a.strides)], {
      T: T(c),
      Index: { type: "int32" },
      begin_mask: { i: a.beginMask ?? 0 },
      end_mask: { i: a.endMask ?? 0 },
      ellipsis_mask: { i: a.ellipsisMask ?? 0 },
      new_axis_mask: { i: a.newAxisMask ?? 0 },
      shrink_axis_mask: { i: a.shrinkAxisMask ?? 0 },
    }),
  GatherV2: (c, a) =>
    c.op("GatherV2", [c.input(0), c.input(1), c.ints([axes(c, a.axis)[0]], [])], {
      Tparams: T(c),
      Tindices: T(c, 1),
      Taxis: { type: "int32" },
      batch_dims: { i: a.batchDims ?? 0 },
    }),
  OneHot: (c, a) =>
    c.op("OneHot", [
      c.input(0),
      c.ints([a.depth], []),
      c.scalar(a.onValue ?? 1, a.dtype),
      c.scalar(a.offValue ?? 0, a.dtype),
    ], {
      T: { type: c.dt(a.dtype) },
      TI: T(c),
      axis: { i: -1 },
    }),
  Fill: (c, a) =>
    c.op("Fill", [c.ints([...a.shape]), c.scalar(a.value, a.dtype)], {
      T: { type: c.dt(a.dtype) },
      index_type: { type: "int32" },
    }),
  // A range is known at trace time: fold it into a constant.
  Range: (
    c,
    a,
  ) => [
    c.constant(
      Array.from({ length: c.node.outs[0].shape[0] }, (_, i) => a.start + i * a.step),
      c.node.outs[0].shape,
      a.dtype,
    ),
  ],
  Select: (c) => c.op("SelectV2", [c.input(0), c.input(1), c.input(2)], { T: T(c, 1) }),
  Cumsum: (c, a) =>
    c.op("Cumsum", [c.input(0), c.ints([a.axis], [])], {
      T: T(c),
      Tidx: { type: "int32" },
      exclusive: { b: !!a.exclusive },
      reverse: { b: !!a.reverse },
    }, [["out", 1]]),
  Cumprod: (c, a) =>
    c.op("Cumprod", [c.input(0), c.ints([a.axis], [])], {
      T: T(c),
      Tidx: { type: "int32" },
      exclusive: { b: !!a.exclusive },
      reverse: { b: !!a.reverse },
    }, [["out", 1]]),
  TopK: (c, a) =>
    c.op("TopKV2", [c.input(0), c.ints([a.k], [])], {
      T: T(c),
      sorted: { b: a.sorted ?? true },
      Tk: { type: "int32" },
      index_type: { type: "int32" },
    }, [["values", 1], ["indices", 1]]),
  Conv2D: (c, a) =>
    c.op("Conv2D", [c.input(0), c.input(1)], {
      T: T(c),
      strides: { listI: spatial(a.strides, 2) },
      dilations: { listI: spatial(a.dilations ?? 1, 2) },
      data_format: { s: a.dataFormat === "NCHW" ? "NCHW" : "NHWC" },
      ...padding(a.pad, 4, "Conv2D"),
    }),
  Conv3D: (c, a) =>
    c.op("Conv3D", [c.input(0), c.input(1)], {
      T: T(c),
      strides: { listI: spatial(a.strides, 3) },
      dilations: { listI: spatial(a.dilations ?? 1, 3) },
      data_format: { s: a.dataFormat === "NCDHW" ? "NCDHW" : "NDHWC" },
      ...padding(a.pad, 5, "Conv3D"),
    }),
  AvgPool: (c, a) =>
    c.op("AvgPool", [c.input(0)], {
      T: T(c),
      ksize: { listI: spatial(a.filterSize, 2) },
      strides: { listI: spatial(a.strides, 2) },
      ...padding(a.pad, 0, "AvgPool"),
    }),
  MaxPool: (c, a) =>
    c.op("MaxPool", [c.input(0)], {
      T: T(c),
      ksize: { listI: spatial(a.filterSize, 2) },
      strides: { listI: spatial(a.strides, 2) },
      ...padding(a.pad, 0, "MaxPool"),
    }),
};

/** float32 -> bfloat16 bits, rounding to nearest even (NaN stays NaN). */
export function toBfloat16(values: Float32Array): Uint8Array {
  const bits = new Uint32Array(values.buffer, values.byteOffset, values.length);
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const b = bits[i];
    if ((b & 0x7fffffff) > 0x7f800000) out[i] = (b >>> 16) | 0x40;
    else out[i] = (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
  }
  return new Uint8Array(out.buffer);
}

export function tensorValue(
  data: ArrayLike<number> | readonly Uint8Array[],
  shape: readonly number[],
  dtype: TfDtype,
): TensorValue {
  if (dtype === "string") return { dtype, shape, content: data as readonly Uint8Array[] };
  const n = shape.reduce((a, b) => a * b, 1);
  const nums = data as ArrayLike<number>;
  if (nums.length !== n && nums.length !== 1) {
    throw new Error(`a constant of shape [${shape}] needs ${n} values, got ${nums.length}`);
  }
  // Typed-array copies, not JS arrays: constants can hold tens of millions of elements (masks).
  const fill = <T extends Float32Array | Int32Array | Uint8Array>(out: T): T => {
    if (nums.length === n) out.set(nums as ArrayLike<number>);
    else out.fill(nums[0] as never);
    return out;
  };
  switch (dtype) {
    case "float32":
      return { dtype, shape, content: new Uint8Array(fill(new Float32Array(n)).buffer) };
    case "bfloat16":
      return { dtype, shape, content: toBfloat16(fill(new Float32Array(n))) };
    case "int32":
      return { dtype, shape, content: new Uint8Array(fill(new Int32Array(n)).buffer) };
    case "bool": {
      const out = fill(new Uint8Array(n));
      for (let i = 0; i < n; i++) out[i] = out[i] ? 1 : 0;
      return { dtype, shape, content: out };
    }
    default:
      throw new Error(`constants of dtype ${dtype} are not exported`);
  }
}

const nodeName = (s: string) => s.replace(/[^A-Za-z0-9_./-]/g, "_").replace(/^[^A-Za-z0-9.]+/, "");

/**
 * Lowers `graph` given the TF tensors of its arguments (`argRef`: a function argument, a
 * ReadVariableOp, a Placeholder). Throws UnsupportedOpError naming the op and where it was traced.
 */
export function lowerGraph(
  graph: Graph,
  argRef: (node: Extract<TraceNode, { kind: "arg" }>) => TfRef,
  opts: { computeDtype?: ComputeDtype; prefix?: string; taken?: Set<string> } = {},
): Lowered {
  const compute = opts.computeDtype ?? "float32";
  const nodes: TfNode[] = [];
  const refs = new Map<ValueId, TfRef>();
  const values = new Map<ValueId, TracedValue>();
  for (const n of graph.nodes) for (const o of n.kind === "op" ? n.outs : [n.out]) values.set(o.id, o);
  const taken = opts.taken ?? new Set<string>();
  const unique = (base: string) => {
    let name = nodeName(base) || "node";
    for (let k = 1; taken.has(name); k++) name = `${nodeName(base)}_${k}`;
    taken.add(name);
    return name;
  };
  let current: { site: TraceSite; op: string } = { site: { layer: "", source: "?" }, op: "" };
  const dt = (dtype: tf.DataType): TfDtype => {
    if (dtype === "float32") return compute;
    if (dtype === "int32" || dtype === "bool" || dtype === "string") return dtype;
    throw new UnsupportedOpError({
      op: current.op,
      ...current.site,
      reason: `dtype ${dtype} has no TensorFlow export`,
    });
  };
  const emit = (
    base: string,
    op: string,
    inputs: readonly TfRef[],
    attrs: Record<string, TfAttr>,
    outArgs: readonly (readonly [string, number])[] = [["output", 1]],
  ): TfRef[] => {
    const name = unique(base);
    nodes.push({ name, op, inputs, attrs, outArgs });
    const out: TfRef[] = [];
    for (const [arg, count] of outArgs) {
      for (let i = 0; i < count; i++) out.push({ node: name, outArg: arg, index: i, flat: out.length });
    }
    return out;
  };
  const constant = (base: string, v: TensorValue) =>
    emit(base, "Const", [], { value: { tensor: v }, dtype: { type: v.dtype } })[0];
  const prefix = opts.prefix ? `${opts.prefix}/` : "";

  for (const n of graph.nodes) {
    if (n.kind === "arg") {
      const ref = argRef(n);
      if (n.out.dtype === "float32" && compute !== "float32") {
        refs.set(
          n.out.id,
          emit(`${prefix}${n.path}/cast`, "Cast", [ref], {
            SrcT: { type: "float32" },
            DstT: { type: compute },
          }, [["y", 1]])[0],
        );
      } else refs.set(n.out.id, ref);
      continue;
    }
    const base = `${prefix}${n.site.layer ? `${n.site.layer}/` : ""}`;
    if (n.kind === "const") {
      current = { site: n.site, op: "Const" };
      const data = n.data as ArrayLike<number> | readonly Uint8Array[];
      refs.set(
        n.out.id,
        constant(`${base}const_${n.out.id}`, tensorValue(data, n.out.shape, dt(n.out.dtype))),
      );
      continue;
    }
    current = { site: n.site, op: n.op };
    const rule = LOWERINGS[n.op];
    if (!rule) {
      throw new UnsupportedOpError({
        op: n.op,
        ...n.site,
        reason: "no TensorFlow op mapping for this tfjs kernel (add one to export/savedmodel/lower.ts)",
      });
    }
    const name = `${base}${n.op}_${n.outs[0]?.id ?? 0}`;
    const ctx: LowerCtx = {
      node: n,
      input: (i) => refs.get(n.inputs[i].value)!,
      inputValue: (i) => values.get(n.inputs[i].value)!,
      dt,
      op: (op, inputs, attrs, outArgs) => emit(name, op, inputs, attrs, outArgs),
      ints: (values, shape = [values.length]) =>
        constant(`${name}/ints`, tensorValue(values, shape, "int32")),
      scalar: (value, dtype) => constant(`${name}/scalar`, tensorValue([value], [], dt(dtype))),
      constant: (vs, shape, dtype) => constant(`${name}/value`, tensorValue(vs, shape, dt(dtype))),
    };
    let outs: TfRef[];
    try {
      outs = rule(ctx, n.attrs as Record<string, any>);
    } catch (e) {
      if (e instanceof UnsupportedOpError) throw e;
      throw new UnsupportedOpError({ op: n.op, ...n.site, reason: (e as Error).message });
    }
    n.outs.forEach((o, i) => refs.set(o.id, outs[i]));
  }
  return { nodes, refs };
}
