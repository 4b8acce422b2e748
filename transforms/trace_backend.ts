/**
 * The tracing backend: a tfjs backend named "trace" whose tensors hold no numbers. Every kernel the
 * engine dispatches to it appends a node to the active recording and returns outputs whose shapes
 * come from `trace_shapes.ts`; tensors made from host values (`tf.scalar(2)`) become constants, and
 * tensors captured from another backend are read (never moved) into constants.
 *
 * Recording at the backend, rather than wrapping `engine.runKernel`, sees exactly the kernels that
 * run, including those inside `customGrad` forward functions and composite ops (tf.moments).
 */
import * as tf from "@tensorflow/tfjs-core";
import type { ConstData, TracedValue, TraceNode, TraceSite, ValueId } from "./trace_ir.ts";
import { DYNAMIC_KERNELS, SHAPE_RULES, type Spec, STATEFUL_KERNELS } from "./trace_shapes.ts";
import { DatalessBackend } from "./abstract.ts";

export const TRACE_BACKEND = "trace";

/** A kernel or value that cannot be part of a static graph, with the layer and line it was traced at. */
export class TraceError extends Error {
  override readonly name = "TraceError";
  constructor(readonly op: string, readonly site: TraceSite, readonly reason: string) {
    super(`Cannot trace ${op} at ${site.layer || "<top level>"} (${site.source}): ${reason}`);
  }
}

export type Recording = {
  readonly nodes: TraceNode[];
  readonly values: Map<object, TracedValue>;
  nextId: ValueId;
  /** Prefix of the parameter path most recently consumed: the layer being traced. */
  layer: string;
  readonly argLayer: Map<ValueId, string>;
  readonly withSources: boolean;
};

let active: Recording | null = null;

export function newRecording(opts: { withSources?: boolean } = {}): Recording {
  return {
    nodes: [],
    values: new Map(),
    nextId: 0,
    layer: "",
    argLayer: new Map(),
    withSources: opts.withSources ?? true,
  };
}

/** Runs `f` with `rec` receiving every kernel; restores the previous recording afterwards. */
export function withRecording<R>(rec: Recording, f: () => R): R {
  const previous = active;
  active = rec;
  try {
    return f();
  } finally {
    active = previous;
  }
}

function recording(what: string): Recording {
  if (!active) {
    throw new TraceError(what, { layer: "", source: "?" }, "the trace backend is only usable inside trace()");
  }
  return active;
}

const TRACER_FILES = `${new URL("./", import.meta.url).href}trace`;
const FOREIGN = /node_modules|\/npm\/registry|^ext:|<anonymous>/;

/** The first stack frame outside tfjs and the tracer: the user's line that made this node. */
function callerSource(rec: Recording): string {
  if (!rec.withSources) return "?";
  const limit = Error.stackTraceLimit;
  Error.stackTraceLimit = 40;
  const stack = new Error().stack ?? "";
  Error.stackTraceLimit = limit;
  for (const line of stack.split("\n").slice(1)) {
    const m = line.match(/\((.*):(\d+):\d+\)$/) ?? line.match(/at (.*):(\d+):\d+$/);
    if (m && !m[1].startsWith(TRACER_FILES) && !FOREIGN.test(m[1])) {
      const cwd = `file://${Deno.cwd()}/`;
      return `${m[1].startsWith(cwd) ? m[1].slice(cwd.length) : m[1]}:${m[2]}`;
    }
  }
  return "?";
}

function site(rec: Recording): TraceSite {
  return { layer: rec.layer, source: callerSource(rec) };
}

function newValue(rec: Recording, spec: Spec): { dataId: object; value: TracedValue } {
  const dataId = {};
  const value = { id: rec.nextId++, shape: [...spec.shape], dtype: spec.dtype };
  rec.values.set(dataId, value);
  return { dataId, value };
}

function copyData(values: unknown, dtype: tf.DataType): ConstData {
  if (dtype === "string") return (values as Uint8Array[]).map((b) => b.slice());
  if (dtype === "float32") return Float32Array.from(values as ArrayLike<number>);
  if (dtype === "int32") return Int32Array.from(values as ArrayLike<number>);
  if (dtype === "bool") return Uint8Array.from(values as ArrayLike<number>);
  throw new TraceError("Const", { layer: "", source: "?" }, `dtype ${dtype} has no TensorFlow export`);
}

function addConst(rec: Recording, values: unknown, shape: readonly number[], dtype: tf.DataType): object {
  const { dataId, value } = newValue(rec, { shape, dtype });
  rec.nodes.push({ kind: "const", data: copyData(values, dtype), out: value, site: site(rec) });
  return dataId;
}

/** A fresh argument value (a leaf of one of the traced function's inputs). */
export function addArg(
  rec: Recording,
  arg: number,
  path: string,
  shape: readonly number[],
  dtype: tf.DataType,
): tf.Tensor {
  const { dataId, value } = newValue(rec, { shape, dtype });
  rec.nodes.push({ kind: "arg", arg, path, out: value });
  const slash = path.lastIndexOf("/");
  if (slash > 0) rec.argLayer.set(value.id, path.slice(0, slash));
  return tf.engine().makeTensorFromTensorInfo({ dataId, shape: [...shape], dtype });
}

/** The traced value of a tensor; a tensor from another backend is read into a constant. */
export function valueOf(rec: Recording, t: tf.TensorInfo): TracedValue {
  const known = rec.values.get(t.dataId);
  if (known) return known;
  const info =
    (tf.engine() as unknown as { state: { tensorInfo: WeakMap<object, { backend: tf.KernelBackend }> } })
      .state.tensorInfo.get(t.dataId);
  if (!info || info.backend instanceof TraceBackend) {
    throw new TraceError(
      "input",
      site(rec),
      `a tensor [${t.shape}] from an earlier trace was used; trace values cannot outlive their trace`,
    );
  }
  const captured = rec.values.get(addConst(rec, info.backend.readSync(t.dataId), t.shape, t.dtype))!;
  rec.values.set(t.dataId, captured); // the same outside tensor used twice is one constant
  return captured;
}

function runTraced(
  kernel: string,
  inputs: Record<string, tf.TensorInfo | null | undefined>,
  attrs: Record<string, unknown>,
) {
  const rec = recording(kernel);
  const named = Object.entries(inputs).filter((e): e is [string, tf.TensorInfo] => e[1] != null);
  const ins = named.map(([name, t]) => ({ name, value: valueOf(rec, t) }));
  for (const i of ins) {
    const layer = rec.argLayer.get(i.value.id);
    if (layer !== undefined) rec.layer = layer;
  }
  const where = site(rec);
  if (DYNAMIC_KERNELS.has(kernel)) {
    throw new TraceError(
      kernel,
      where,
      "its output shape depends on the data (dynamic shape); XLA/TPU need static shapes",
    );
  }
  if (STATEFUL_KERNELS.has(kernel)) {
    throw new TraceError(
      kernel,
      where,
      "it draws random numbers inside the graph; sample on the host from a key instead",
    );
  }
  const rule = SHAPE_RULES[kernel];
  if (!rule) {
    throw new TraceError(
      kernel,
      where,
      "no shape rule for this kernel (add one to transforms/trace_shapes.ts)",
    );
  }
  let specs: Spec | Spec[];
  try {
    specs = rule(ins.map((i) => ({ shape: [...i.value.shape], dtype: i.value.dtype })), attrs);
  } catch (e) {
    throw new TraceError(
      kernel,
      where,
      `shape inference failed for inputs ${ins.map((i) => `[${i.value.shape}]`).join(", ")}: ${
        (e as Error).message
      }`,
    );
  }
  const list = Array.isArray(specs) ? specs : [specs];
  for (const s of list) {
    if (s.shape.some((d) => !Number.isInteger(d) || d < 0)) {
      throw new TraceError(kernel, where, `inferred a dynamic or invalid shape [${s.shape}]`);
    }
  }
  const made = list.map((s) => newValue(rec, s));
  const kept = Object.fromEntries(Object.entries(attrs ?? {}).filter(([, v]) => v !== undefined));
  rec.nodes.push({
    kind: "op",
    op: kernel,
    inputs: ins.map((i) => ({ name: i.name, value: i.value.id })),
    attrs: kept,
    outs: made.map((m) => m.value),
    site: where,
  });
  const infos = made.map((m) => ({ dataId: m.dataId, shape: [...m.value.shape], dtype: m.value.dtype }));
  return Array.isArray(specs) ? infos : infos[0];
}

/** Stores only the host values of constants; every other tensor is a node of the recording. */
class TraceBackend extends DatalessBackend {
  constructor() {
    super("traced tensors hold no data");
  }
  override write(values: unknown, shape: number[], dtype: tf.DataType): object {
    this.live++;
    return addConst(recording("tensor"), values, shape, dtype);
  }
  override move(dataId: object, values: unknown, shape: number[], dtype: tf.DataType): void {
    const rec = recording("move");
    this.live++;
    const id = addConst(rec, values, shape, dtype);
    rec.values.set(dataId, rec.values.get(id)!);
  }
  override readSync(dataId: object): tf.backend_util.BackendValues {
    const rec = recording("read");
    const v = rec.values.get(dataId);
    const producer = v && rec.nodes.find((n) => (n.kind === "op" ? n.outs.includes(v) : n.out === v));
    if (producer?.kind === "const") return producer.data as tf.backend_util.BackendValues;
    const op = producer?.kind === "op" ? producer.op : "read";
    throw new TraceError(
      op,
      site(rec),
      "reading values of a traced tensor (dataSync/data/arraySync) makes the graph depend on data; tracing only knows shapes",
    );
  }
  override read(dataId: object): Promise<tf.backend_util.BackendValues> {
    try {
      return Promise.resolve(this.readSync(dataId));
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

let registered = false;

/** Registers the backend and a recording kernel for every tfjs kernel name (once). */
export function registerTraceBackend(): void {
  if (registered) return;
  registered = true;
  tf.registerBackend(TRACE_BACKEND, () => new TraceBackend(), -1); // never auto-selected
  const names = new Set<string>(Object.keys(SHAPE_RULES));
  for (const [k, v] of Object.entries(tf)) {
    if (typeof v === "string" && v === k && /^_?[A-Z]/.test(k)) names.add(k);
  }
  for (const kernelName of names) {
    tf.registerKernel({
      kernelName,
      backendName: TRACE_BACKEND,
      kernelFunc: ({ inputs, attrs }) =>
        runTraced(
          kernelName,
          inputs as Record<string, tf.TensorInfo>,
          (attrs ?? {}) as Record<string, unknown>,
        ) as tf.TensorInfo,
    });
  }
}
