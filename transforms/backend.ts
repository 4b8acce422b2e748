/**
 * Explicit backend choice. tfjs picks the highest-priority registered backend when nobody asks
 * (webgpu > wasm > cpu), which under Deno silently means a software Vulkan adapter. Here a backend
 * is only imported, and so only registered, when it is asked for by name.
 */
import * as tf from "@tensorflow/tfjs-core";
import "./gradients/mod.ts";

export type BackendName = "wasm" | "cpu" | "webgpu";
export const BACKENDS: readonly BackendName[] = ["wasm", "cpu", "webgpu"];

export class BackendError extends Error {
  override readonly name = "BackendError";
  constructor(readonly backend: string, readonly reason: string) {
    super(`Cannot use backend '${backend}': ${reason}`);
  }
}

const loaders: Record<BackendName, () => Promise<unknown>> = {
  cpu: () => import("@tensorflow/tfjs-backend-cpu"),
  wasm: () => import("@tensorflow/tfjs-backend-wasm"),
  webgpu: () => import("@tensorflow/tfjs-backend-webgpu"),
};

/** Does this runtime expose a WebGPU adapter (hardware, or Mesa's llvmpipe software one)? */
export async function hasWebGPU(): Promise<boolean> {
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(): Promise<unknown> } } | undefined)?.gpu;
  if (!gpu) return false;
  try {
    return (await gpu.requestAdapter()) != null;
  } catch {
    return false;
  }
}

/**
 * Makes `name` the active tfjs backend, or throws a BackendError that says why not.
 * wasm runs single-threaded under Deno (tfjs treats Deno as Node and disables wasm threads).
 */
export async function setBackend(name: BackendName): Promise<void> {
  if (!(name in loaders)) {
    throw new BackendError(name, `unknown backend; choose one of ${BACKENDS.join(", ")}`);
  }
  if (name === "webgpu" && !(await hasWebGPU())) {
    throw new BackendError(
      name,
      "no WebGPU adapter (install Debian's mesa-vulkan-drivers for a software one)",
    );
  }
  await loaders[name]();
  const ok = await tf.setBackend(name);
  if (!ok || tf.getBackend() !== name) throw new BackendError(name, "tfjs failed to initialise it");
  await tf.ready();
  if (name === "wasm") {
    // The shipped BatchMatMul leaves XNNPACK for transposed or batched operands (dense backward),
    // and the shipped Identity copies every tensor the gradient tape saves.
    (await import("./wasm_matmul.ts")).installWasmMatMul();
    (await import("./wasm_identity.ts")).installWasmSharedIdentity();
  }
  silenceNodeBanner();
}

/** The active backend's name; throws if none was chosen with `setBackend`. */
export function currentBackend(): BackendName {
  const name = tf.getBackend() as BackendName | undefined;
  if (!name || !BACKENDS.includes(name)) throw new BackendError(String(name), "call setBackend() first");
  return name;
}

/**
 * Is `e` the error of a wasm module that aborted? Past its 4 GiB address space a wasm allocation
 * fails, the module calls abort(), and every later call into it throws this same error.
 */
export function isBackendAbort(e: unknown): boolean {
  return e instanceof WebAssembly.RuntimeError && /^Aborted\(/.test(e.message);
}

/** Does the active backend still compute? False after a wasm abort (and when none was chosen). */
export function backendAlive(): boolean {
  try {
    return tf.tidy(() => tf.add(tf.scalar(1), tf.scalar(1)).dataSync()[0]) === 2;
  } catch {
    return false;
  }
}

/**
 * Replaces the active backend with a fresh instance of the same name (for wasm: a new module with
 * its own memory), so a process outlives a wasm abort. Every tensor of the old instance is lost:
 * drop them, re-create params from their keys or a checkpoint. Returns the backend's name.
 */
export async function resetBackend(): Promise<BackendName> {
  const name = currentBackend();
  const { factory, priority } = tf.engine().registryFactory[name];
  const old = tf.findBackend(name);
  // a dead module traps on every call, freeing its memory included: the GC takes it instead
  if (old && !backendAlive()) old.dispose = () => {};
  tf.removeBackend(name);
  tf.registerBackend(name, factory, priority);
  await setBackend(name);
  if (!backendAlive()) throw new BackendError(name, "a fresh instance does not compute either");
  return name;
}

/** Deno looks like Node to tfjs, so the cpu backend prints an "install tfjs-node" banner on first use. */
function silenceNodeBanner(): void {
  const backend = tf.backend() as unknown as { firstUse?: boolean };
  if ("firstUse" in backend) backend.firstUse = false;
}
