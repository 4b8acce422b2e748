/**
 * Threefry-2x32 as tfjs kernels, so that a PRNG key can be a tensor: inside `trace` a key that is a
 * graph input flows through `foldIn`, `split` and the samplers as recorded ops, and the exporter
 * lowers each op to TensorFlow's integer ops (as JAX lowers its PRNG to XLA). Eagerly (cpu, wasm)
 * the kernels run the host Threefry of threefry.ts on the key's two words, so a tensor key gives
 * exactly the numbers of the host key with the same words; tests compare both, and TensorFlow's.
 *
 * Words are uint32; tfjs has no uint32 dtype, so they travel as int32 tensors holding the same bits.
 *   ThreefryHash {key: int32[2], counts: int32[k]}      -> int32[k]  jax's threefry_2x32(key, counts)
 *   ThreefryBits {key: int32[2]} attrs {shape}          -> int32[shape]  the hash of counters 0..n-1
 *   BitsToUnitFloat {bits: int32[...]}                  -> float32[...]  (bits >>> 9 | 1.0f) - 1 in [0, 1)
 *   StopGradient {x}                                    -> x, with a zero gradient
 */
import * as tf from "@tensorflow/tfjs-core";
import { randomBits, threefryHash } from "./threefry.ts";

export const THREEFRY_HASH = "ThreefryHash";
export const THREEFRY_BITS = "ThreefryBits";
export const BITS_TO_UNIT_FLOAT = "BitsToUnitFloat";
export const STOP_GRADIENT = "StopGradient";

/** The kernels with an eager implementation here (the trace backend records them from their shape rules). */
export const PRNG_KERNELS = [THREEFRY_HASH, THREEFRY_BITS, BITS_TO_UNIT_FLOAT, STOP_GRADIENT] as const;

/** Backends whose data can be read synchronously, where the PRNG kernels run on the host. */
const HOST_BACKENDS = ["cpu", "wasm"] as const;

type Backend = tf.KernelBackend;

/** A kernel output holding host values (every backend can `write` them). */
function output(
  b: Backend,
  shape: readonly number[],
  dtype: tf.DataType,
  values: tf.backend_util.BackendValues,
): tf.TensorInfo {
  return { dataId: b.write(values, [...shape], dtype), shape: [...shape], dtype };
}

function words(b: Backend, t: tf.TensorInfo): Uint32Array {
  return new Uint32Array(Int32Array.from(b.readSync(t.dataId) as Int32Array).buffer);
}

const asInt32 = (u: Uint32Array) => new Int32Array(u.buffer, u.byteOffset, u.length);

function unitFloats(bits: Uint32Array): Float32Array {
  const out = new Float32Array(bits.length);
  const word = new Uint32Array(1), asFloat = new Float32Array(word.buffer);
  for (let i = 0; i < bits.length; i++) {
    word[0] = (bits[i] >>> 9) | 0x3f800000;
    out[i] = asFloat[0] - 1;
  }
  return out;
}

const KERNELS: Record<Exclude<(typeof PRNG_KERNELS)[number], typeof STOP_GRADIENT>, tf.KernelFunc> = {
  [THREEFRY_HASH]: ({ inputs, backend }) => {
    const b = backend as Backend, { key, counts } = inputs as { key: tf.TensorInfo; counts: tf.TensorInfo };
    const [k0, k1] = words(b, key);
    return output(b, counts.shape, "int32", asInt32(threefryHash(k0, k1, words(b, counts))));
  },
  [THREEFRY_BITS]: ({ inputs, backend, attrs }) => {
    const b = backend as Backend, shape = (attrs as { shape: number[] }).shape;
    const [k0, k1] = words(b, (inputs as { key: tf.TensorInfo }).key);
    const n = shape.reduce((x, y) => x * y, 1);
    return output(b, shape, "int32", asInt32(randomBits(k0, k1, n)));
  },
  [BITS_TO_UNIT_FLOAT]: ({ inputs, backend }) => {
    const b = backend as Backend, bits = (inputs as { bits: tf.TensorInfo }).bits;
    return output(b, bits.shape, "float32", unitFloats(words(b, bits)));
  },
};

/** StopGradient runs the backend's own Identity: it is a gradient rule, not arithmetic. */
function stopGradientKernel(backendName: string): tf.KernelFunc {
  return (args) => tf.getKernel("Identity", backendName)!.kernelFunc(args) as tf.TensorInfo;
}

let registered = false;

/**
 * Registers the Threefry kernels for the host backends, StopGradient for every backend that has an
 * Identity, and StopGradient's zero gradient (once). The Threefry kernels need no gradient: their
 * outputs never depend on parameters, so no backward pass reaches them.
 */
export function registerPrngKernels(): void {
  if (registered) return;
  registered = true;
  for (const backendName of HOST_BACKENDS) {
    for (const [kernelName, kernelFunc] of Object.entries(KERNELS)) {
      tf.registerKernel({ kernelName, backendName, kernelFunc });
    }
  }
  for (const backendName of ["cpu", "wasm", "webgpu"]) {
    tf.registerKernel({
      kernelName: STOP_GRADIENT,
      backendName,
      kernelFunc: stopGradientKernel(backendName),
    });
  }
  tf.registerGradient({
    kernelName: STOP_GRADIENT,
    gradFunc: (dy) => ({ x: () => tf.zerosLike(dy as tf.Tensor) }),
  });
}

/** The identity whose gradient is zero (jax.lax.stop_gradient), as one kernel any backend or trace records. */
export function stopGradient(x: tf.Tensor): tf.Tensor {
  registerPrngKernels();
  return tf.engine().runKernel(STOP_GRADIENT, { x } as unknown as tf.NamedTensorMap) as tf.Tensor;
}
