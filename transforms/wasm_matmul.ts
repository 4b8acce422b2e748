/**
 * The wasm backend's BatchMatMul, sent down XNNPACK's fast path.
 *
 * tfjs-backend-wasm 4.22 hands a matmul to XNNPACK only when neither operand is transposed and both
 * have batch 1; every other form runs its naive C++ loop, about 8x slower at dense-layer sizes
 * (bench/matmul.ts, bench/wasm_profile.ts). The backward of every dense layer is such a form
 * (dA = dC.B^T, dB = A^T.dC). This kernel rewrites them around the shipped kernel, which still does
 * every multiply:
 * - a transposed operand is materialised once (a Transpose is O(MK) against the matmul's O(MKN));
 * - a batch of A against one B is folded into rows ([X, M, K] -> [X*M, K]): one XNNPACK call;
 * - a true batch (B batched) loops over XNNPACK calls, one per matrix, when each is large enough
 *   (WASM_MATMUL_MIN_BATCHED_MACS); smaller ones stay on the shipped kernel.
 *
 * Each output element is one dot product whose summation order depends only on the shapes, so
 * results are identical run to run. Letters: X batch, M rows of op(A), K inner, N columns of op(B).
 */
import * as tf from "@tensorflow/tfjs-core";

type TensorInfo = tf.TensorInfo;
type KernelArgs = {
  inputs: Record<string, TensorInfo>;
  backend: WasmBackend;
  attrs?: Record<string, unknown>;
};
type KernelFunc = (args: KernelArgs) => TensorInfo;
/** The part of tfjs-backend-wasm's BackendWasm this kernel uses. */
type WasmBackend = { disposeData(dataId: unknown): boolean };

/** How a BatchMatMul is computed: by the shipped kernel, folded into one call, or one call per matrix. */
export type WasmMatMulRoute = "shipped" | "fold" | "loop";

/**
 * Below this many multiply-adds per matrix, a batched product stays on the shipped loop: each
 * XNNPACK call sets up an operator and packs its B (about 0.2 ms), so per-head attention matrices
 * measured 2-3x slower one call each (41x41x64: 3 vs 9 ms for 32 heads), and 64..96-sized ones
 * broke even or lost; from 2^20 (128x128x64) every form measured 1.3-2.5x faster.
 */
export const WASM_MATMUL_MIN_BATCHED_MACS = 1 << 20;

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** The broadcast batch shape of two batch shapes, or undefined where they do not broadcast. */
function broadcastBatch(a: readonly number[], b: readonly number[]): number[] | undefined {
  try {
    return tf.broadcast_util.assertAndGetBroadcastShape([...a], [...b]);
  } catch {
    return undefined;
  }
}

/**
 * Which route a BatchMatMul of `a` and `b` takes. Anything the shipped kernel rejects (dtype, rank,
 * inner or batch shapes) is routed to it, so its errors reach the caller unchanged.
 */
export function wasmMatMulRoute(
  a: { readonly shape: readonly number[]; readonly dtype: string },
  b: { readonly shape: readonly number[]; readonly dtype: string },
  transposeA: boolean,
  transposeB: boolean,
): WasmMatMulRoute {
  if (a.dtype !== "float32" || b.dtype !== "float32") return "shipped";
  if (a.shape.length < 2 || b.shape.length < 2) return "shipped";
  const [ra, rb] = [a.shape.length, b.shape.length];
  const [M, Ka] = transposeA ? [a.shape[ra - 1], a.shape[ra - 2]] : [a.shape[ra - 2], a.shape[ra - 1]];
  const [Kb, N] = transposeB ? [b.shape[rb - 1], b.shape[rb - 2]] : [b.shape[rb - 2], b.shape[rb - 1]];
  const outBatch = broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2));
  if (Ka !== Kb || !outBatch) return "shipped";
  const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
  // Both sides broadcast ([1, 3] against [3, 1]): tfjs 4.22 computes this wrongly on every backend;
  // the shipped kernel keeps its (wrong but shared) answer rather than a new one.
  if (size(outBatch) !== Math.max(batchA, batchB)) return "shipped";
  if (M * Ka * N * batchA * batchB === 0) return "shipped"; // empty: nothing to speed up
  if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return "shipped"; // already XNNPACK
  // Batches of different sizes, neither 1 ([2, 3] against [3]): the shipped kernel pairs them by
  // flat index modulo each batch, which tfjs's other backends share; keep its semantics.
  if (batchA !== batchB && batchA !== 1 && batchB !== 1) return "shipped";
  if (batchB === 1) return "fold";
  return M * Ka * N < WASM_MATMUL_MIN_BATCHED_MACS ? "shipped" : "loop";
}

function wasmKernel(name: string): KernelFunc {
  const k = tf.getKernel(name, "wasm");
  if (!k) {
    throw new WasmMatMulError(
      `the wasm backend has no '${name}' kernel (import @tensorflow/tfjs-backend-wasm first)`,
    );
  }
  return k.kernelFunc as unknown as KernelFunc;
}

/** The rewrite around the shipped kernel `shipped`. */
function fastPathMatMul(shipped: KernelFunc): KernelFunc {
  const transpose = wasmKernel("Transpose"), reshape = wasmKernel("Reshape");
  const slice = wasmKernel("Slice"), concat = wasmKernel("Concat");
  return (args) => {
    const { inputs: { a, b }, backend, attrs } = args;
    const transposeA = Boolean(attrs?.transposeA), transposeB = Boolean(attrs?.transposeB);
    const route = wasmMatMulRoute(a, b, transposeA, transposeB);
    if (route === "shipped") return shipped(args);

    const temps: TensorInfo[] = [];
    const dispose = (t: TensorInfo) => backend.disposeData(t.dataId);
    const keep = (t: TensorInfo) => (temps.push(t), t);
    const re = (x: TensorInfo, shape: number[]) =>
      keep(reshape({ inputs: { x }, backend, attrs: { shape } }));
    const swapLast = (x: TensorInfo) => {
      const r = x.shape.length, perm = [...Array(r - 2).keys(), r - 1, r - 2];
      return keep(transpose({ inputs: { x }, backend, attrs: { perm } }));
    };
    const mm = (x: TensorInfo, y: TensorInfo) =>
      shipped({ inputs: { a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    try {
      const A = transposeA ? swapLast(a) : a; // [..., M, K]
      const B = transposeB ? swapLast(b) : b; // [..., K, N]
      const [M, K] = A.shape.slice(-2), N = B.shape[B.shape.length - 1];
      const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
      const outShape = [...broadcastBatch(a.shape.slice(0, -2), b.shape.slice(0, -2))!, M, N];
      let out: TensorInfo; // [X*M, N]
      if (route === "fold") {
        out = keep(mm(re(A, [batchA * M, K]), re(B, [K, N])));
      } else {
        const X = batchB, A3 = re(A, [batchA, M, K]), B3 = re(B, [X, K, N]);
        const matrix = (x3: TensorInfo, i: number, rows: number, cols: number) => {
          const s = slice({ inputs: { x: x3 }, backend, attrs: { begin: [i, 0, 0], size: [1, rows, cols] } });
          const m = reshape({ inputs: { x: s }, backend, attrs: { shape: [rows, cols] } });
          dispose(s);
          return m;
        };
        const sharedA = batchA === 1 ? re(A3, [M, K]) : undefined;
        const parts: TensorInfo[] = [];
        for (let i = 0; i < X; i++) {
          const ai = sharedA ?? matrix(A3, i, M, K), bi = matrix(B3, i, K, N);
          parts.push(keep(mm(ai, bi))); // [M, N]
          if (!sharedA) dispose(ai);
          dispose(bi);
        }
        out = keep(
          concat({ inputs: parts as unknown as Record<string, TensorInfo>, backend, attrs: { axis: 0 } }),
        );
      }
      return reshape({ inputs: { x: out }, backend, attrs: { shape: outShape } });
    } finally {
      for (const t of temps) dispose(t);
    }
  };
}

/** Raised when the wasm matmul cannot be installed. */
export class WasmMatMulError extends Error {
  override readonly name = "WasmMatMulError";
  constructor(readonly reason: string) {
    super(`Cannot install the wasm fast-path BatchMatMul: ${reason}`);
  }
}

/** Our registered kernel functions, each with the kernel config it replaced. */
const replaced = new WeakMap<object, tf.KernelConfig>();

function registeredBatchMatMul(): tf.KernelConfig | undefined {
  return tf.getKernel("BatchMatMul", "wasm");
}

/** Whether the wasm backend's BatchMatMul is currently the fast-path rewrite. */
export function wasmMatMulInstalled(): boolean {
  const config = registeredBatchMatMul();
  return config !== undefined && replaced.has(config.kernelFunc);
}

/**
 * Registers the fast-path BatchMatMul for backend "wasm" in place of the shipped one (kept, and
 * still called for every multiply). Idempotent. Needs the wasm backend's kernels registered
 * (importing @tensorflow/tfjs-backend-wasm does that; `setBackend("wasm")` calls this).
 */
export function installWasmMatMul(): void {
  const config = registeredBatchMatMul();
  if (!config) {
    throw new WasmMatMulError(
      "the wasm backend has no BatchMatMul kernel (import @tensorflow/tfjs-backend-wasm first)",
    );
  }
  if (replaced.has(config.kernelFunc)) return;
  const kernelFunc = fastPathMatMul(config.kernelFunc as unknown as KernelFunc) as unknown as tf.KernelFunc;
  replaced.set(kernelFunc, config);
  tf.unregisterKernel("BatchMatMul", "wasm");
  // setupFunc stays: a backend initialised later still binds the shipped kernel's wasm function.
  tf.registerKernel({ ...config, kernelFunc });
}

/** Restores the shipped BatchMatMul (for tests and before/after benchmarks). Idempotent. */
export function uninstallWasmMatMul(): void {
  const config = registeredBatchMatMul();
  const original = config && replaced.get(config.kernelFunc);
  if (!original) return;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel(original);
}
