/**
 * Abstract evaluation: tensors that have a shape and a dtype but no values, so that `init` of a
 * 3B-parameter model can run on a laptop to describe its parameters (jax.eval_shape).
 *
 * It is a tfjs backend named "abstract" whose tensors own no memory. Samplers and initializers ask
 * `isAbstract()` and skip generating numbers; the few kernels initialisers use (reshape, cast,
 * element-wise arithmetic) compute only the output shape. Any other kernel fails with a message
 * naming it, instead of silently computing on zeros.
 */
import * as tf from "@tensorflow/tfjs-core";

export const ABSTRACT_BACKEND = "abstract";

export class AbstractValueError extends Error {
  override readonly name = "AbstractValueError";
}

type DataId = object;

/**
 * The bookkeeping every values-free tfjs backend needs (this one and the tracing backend): a count
 * of live data ids, no timer, float32 precision. tfjs requires a KernelBackend subclass.
 */
export abstract class DatalessBackend extends tf.KernelBackend {
  protected live = 0;
  constructor(private readonly memoryReason: string) {
    super();
  }
  override numDataIds(): number {
    return this.live;
  }
  override disposeData(): boolean {
    this.live = Math.max(0, this.live - 1);
    return true;
  }
  override refCount(): number {
    return 1;
  }
  override incRef(): void {}
  override memory() {
    return { unreliable: true, reasons: [this.memoryReason] };
  }
  override timerAvailable(): boolean {
    return false;
  }
  override epsilon(): number {
    return 1e-7;
  }
  override floatPrecision(): 16 | 32 {
    return 32;
  }
  override dispose(): void {}
}

/** Holds no numbers at all: init under it only learns shapes and dtypes. */
class AbstractBackend extends DatalessBackend {
  constructor() {
    super("abstract tensors hold no data");
  }
  override write(_values: unknown, _shape: number[], _dtype: tf.DataType): DataId {
    this.live++;
    return {};
  }
  override move(): void {
    this.live++;
  }
  override readSync(): never {
    throw new AbstractValueError("Cannot read values of an abstract tensor: it has a shape and dtype only");
  }
  override read(): Promise<never> {
    return Promise.reject(
      new AbstractValueError("Cannot read values of an abstract tensor: it has a shape and dtype only"),
    );
  }
}

function make(shape: readonly number[], dtype: tf.DataType): tf.TensorInfo {
  return {
    dataId: tf.backend().write(null as unknown as tf.backend_util.BackendValues, shape as number[], dtype),
    shape: [...shape],
    dtype,
  };
}

type Inputs = Record<string, tf.TensorInfo>;
const unary = (name: string) => ({
  kernelName: name,
  kernelFunc: ({ inputs }: { inputs: Inputs }) => make(inputs.x.shape, inputs.x.dtype),
});
const binary = (name: string) => ({
  kernelName: name,
  kernelFunc: ({ inputs }: { inputs: Inputs }) =>
    make(tf.backend_util.assertAndGetBroadcastShape(inputs.a.shape, inputs.b.shape), inputs.a.dtype),
});

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  // Negative priority: never picked by tfjs' automatic backend choice.
  tf.registerBackend(ABSTRACT_BACKEND, () => new AbstractBackend(), -1);
  const kernels = [
    unary("Identity"),
    unary("Neg"),
    ...["Add", "Sub", "Multiply", "RealDiv", "Maximum", "Minimum"].map(binary),
    {
      kernelName: "Reshape",
      kernelFunc: ({ inputs, attrs }: { inputs: Inputs; attrs?: Record<string, unknown> }) => {
        const size = tf.util.sizeFromShape(inputs.x.shape);
        const shape = tf.util.inferFromImplicitShape(attrs!.shape as number[], size);
        return make(shape, inputs.x.dtype);
      },
    },
    {
      kernelName: "Cast",
      kernelFunc: ({ inputs, attrs }: { inputs: Inputs; attrs?: Record<string, unknown> }) =>
        make(inputs.x.shape, attrs!.dtype as tf.DataType),
    },
    {
      kernelName: "Fill",
      kernelFunc: ({ attrs }: { attrs?: Record<string, unknown> }) =>
        make(attrs!.shape as number[], attrs!.dtype as tf.DataType),
    },
  ];
  for (const k of kernels) {
    tf.registerKernel({ ...k, backendName: ABSTRACT_BACKEND } as unknown as tf.KernelConfig);
  }
}

/** True while `evalAbstract` runs: samplers and initializers then make values-free tensors. */
export function isAbstract(): boolean {
  return tf.getBackend() === ABSTRACT_BACKEND;
}

/** A tensor of the given shape/dtype on the abstract backend. Only valid inside `evalAbstract`. */
export function abstractTensor(shape: readonly number[], dtype: tf.DataType): tf.Tensor {
  if (!isAbstract()) throw new AbstractValueError("Cannot make an abstract tensor outside evalAbstract()");
  for (const d of shape) {
    if (!Number.isInteger(d) || d < 0) {
      throw new AbstractValueError(
        `Cannot make a tensor of shape [${shape}]: dimensions must be non-negative integers`,
      );
    }
  }
  const info = make(shape, dtype);
  return tf.engine().makeTensorFromTensorInfo(info);
}

/**
 * Runs `f` with the abstract backend active and restores the previous backend afterwards, even when
 * `f` throws. Tensors made inside live on the abstract backend; `f` should turn them into plain
 * descriptions before returning, because they are disposed on the way out.
 */
export function evalAbstract<R>(f: () => R): R {
  register();
  const previous = tf.getBackend();
  switchTo(ABSTRACT_BACKEND);
  try {
    return tf.tidy(() => {
      const out = f();
      if (out instanceof tf.Tensor) {
        throw new AbstractValueError("evalAbstract() must not return a tensor: it is disposed on exit");
      }
      return out as unknown as tf.TensorContainer;
    }) as unknown as R;
  } finally {
    if (previous) switchTo(previous);
  }
}

/**
 * Switches backends synchronously. tfjs' setBackend is async, but for a backend that is already
 * initialised (or whose factory is synchronous) it completes before its first await.
 */
function switchTo(name: string): void {
  void tf.setBackend(name);
  if (tf.getBackend() !== name) {
    throw new AbstractValueError(`Cannot switch to backend '${name}' synchronously`);
  }
}
