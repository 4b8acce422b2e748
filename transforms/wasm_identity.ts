/**
 * The wasm backend's Identity, sharing its input's buffer instead of copying it.
 *
 * tfjs' engine clones every tensor it saves for the backward pass (and `tf.clone` is Identity too).
 * tfjs-backend-wasm 4.22 implements Identity as a full copy, so in a forward under a gradient tape
 * every saved activation exists twice until the forward's scope ends, and the step spends time on
 * the copies: on a 16-chunk TTM Combiner the copies were 318 of the 326 MiB the forward+backward
 * peaked at. The cpu backend's Identity already shares (a reference count on the data), as the wasm
 * backend's own Reshape does; tensors are immutable, so no kernel can tell the difference.
 */
import * as tf from "@tensorflow/tfjs-core";

type TensorInfo = tf.TensorInfo;
/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
type WasmBackend = { incRef(dataId: unknown): void };
type KernelArgs = { inputs: { x: TensorInfo }; backend: WasmBackend };

const shipped = new WeakMap<object, tf.KernelConfig>();

function sharedIdentity(original: tf.KernelFunc): tf.KernelFunc {
  return ((args: KernelArgs) => {
    const { x } = args.inputs;
    // strings live on the JS side, not in the heap: the shipped kernel handles them
    if (x.dtype === "string") return original(args as unknown as Parameters<tf.KernelFunc>[0]);
    args.backend.incRef(x.dataId);
    return { dataId: x.dataId, shape: x.shape, dtype: x.dtype };
  }) as unknown as tf.KernelFunc;
}

/** Whether the wasm Identity is currently the sharing one. */
export function wasmSharedIdentityInstalled(): boolean {
  const config = tf.getKernel("Identity", "wasm");
  return config !== undefined && shipped.has(config.kernelFunc);
}

/** Registers the sharing Identity for backend "wasm" (needs the wasm kernels registered). Idempotent. */
export function installWasmSharedIdentity(): void {
  const config = tf.getKernel("Identity", "wasm");
  if (!config) throw new Error("Cannot share wasm Identity buffers: the wasm backend has no Identity kernel");
  if (shipped.has(config.kernelFunc)) return;
  const kernelFunc = sharedIdentity(config.kernelFunc);
  shipped.set(kernelFunc, config);
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel({ ...config, kernelFunc });
}

/** Restores the shipped, copying Identity (for before/after benchmarks). Idempotent. */
export function uninstallWasmSharedIdentity(): void {
  const config = tf.getKernel("Identity", "wasm");
  const original = config && shipped.get(config.kernelFunc);
  if (!original) return;
  tf.unregisterKernel("Identity", "wasm");
  tf.registerKernel(original);
}
