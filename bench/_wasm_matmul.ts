/**
 * Prototype (bench only): the wasm backend's BatchMatMul kernel sent down its fast path.
 *
 * tfjs-backend-wasm 4.22 hands a matmul to XNNPACK only when neither operand is transposed and both
 * have batch 1; every other form (transposeA, transposeB, batch > 1) runs its naive C++ loop, about
 * 15x slower (bench/matmul.ts measures both). The backward of every dense layer is such a form
 * (dA = dC.B^T, dB = A^T.dC), and so are attention's q.k^T and p.v. This kernel rewrites them:
 * a transposed operand is materialised once (a Transpose is O(MK) against the matmul's O(MKN)),
 * a batch-1 operand against a batched one is folded into rows ([X, M, K] -> [X*M, K]), and a true
 * batch loops over XNNPACK calls (except batched A.B^T, see below). The same rewrite belongs in tfjs-backend-wasm (or, for the
 * gradients, in transforms/gradients/matmul.ts); here it is installed at runtime for a measurement.
 */
import * as tf from "@tensorflow/tfjs-core";

type TensorInfo = tf.TensorInfo;
type KernelArgs = { inputs: Record<string, TensorInfo>; backend: unknown; attrs?: Record<string, unknown> };
type KernelFunc = (args: KernelArgs) => TensorInfo;

const size = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/**
 * Below this many multiply-adds per batch entry, XNNPACK's per-call set-up (it packs B each time)
 * costs more than the naive loop saves: 41x41x64 per head measured 2-3x slower, 90x64x90 2x faster.
 */
const LOOP_MIN_MACS = 1 << 18;

function kernel(name: string): KernelFunc {
  const k = tf.getKernel(name, "wasm");
  if (!k) throw new Error(`Cannot install the wasm matmul prototype: the wasm backend has no '${name}' kernel`);
  return k.kernelFunc as unknown as KernelFunc;
}

/** The fast-path rewrite around the backend's own kernel (which still does every multiply). */
function fastPathMatMul(original: KernelFunc): KernelFunc {
  const transpose = kernel("Transpose"), reshape = kernel("Reshape"), slice = kernel("Slice"), concat = kernel("Concat");
  return ({ inputs, backend, attrs }) => {
    const { a, b } = inputs;
    const transposeA = Boolean(attrs?.transposeA), transposeB = Boolean(attrs?.transposeB);
    const batchA = size(a.shape.slice(0, -2)), batchB = size(b.shape.slice(0, -2));
    const mm = (x: TensorInfo, y: TensorInfo) => original({ inputs: { a: x, b: y }, backend, attrs: { ...attrs, transposeA: false, transposeB: false } });
    if (!transposeA && !transposeB && batchA === 1 && batchB === 1) return original({ inputs, backend, attrs });
    if (batchA !== batchB && batchA !== 1 && batchB !== 1) return original({ inputs, backend, attrs }); // partial broadcast: rare, left as is
    // Batched q.k^T (transposeB, small per-head matrices): a Transpose of k plus one XNNPACK call per
    // head measured slower than the naive loop, so it stays.
    if (batchB > 1 && transposeB && !transposeA) return original({ inputs, backend, attrs });
    const temps: TensorInfo[] = [];
    const keep = (t: TensorInfo) => (temps.push(t), t);
    const swapLast = (x: TensorInfo) => {
      const r = x.shape.length, perm = [...Array(r - 2).keys(), r - 1, r - 2];
      return keep(transpose({ inputs: { x }, backend, attrs: { perm } }));
    };
    const re = (x: TensorInfo, shape: number[]) => keep(reshape({ inputs: { x }, backend, attrs: { shape } }));
    const A = transposeA ? swapLast(a) : a, B = transposeB ? swapLast(b) : b; // [.., M, K], [.., K, N]
    const [M, K] = A.shape.slice(-2), N = B.shape[B.shape.length - 1];
    if (batchB > 1 && M * K * N < LOOP_MIN_MACS) {
      for (const t of temps) (backend as { disposeData(id: unknown): void }).disposeData(t.dataId);
      return original({ inputs, backend, attrs });
    }
    const outBatch = a.shape.length >= b.shape.length ? a.shape.slice(0, -2) : b.shape.slice(0, -2);
    let out: TensorInfo;
    if (batchB === 1) {
      out = keep(mm(re(A, [batchA * M, K]), re(B, [K, N]))); // [X*M, N]
    } else {
      const X = Math.max(batchA, batchB);
      const A3 = re(A, [batchA, M, K]), B3 = re(B, [batchB, K, N]);
      const parts: TensorInfo[] = [];
      for (let i = 0; i < X; i++) {
        const ai = batchA === 1 ? re(A3, [M, K]) : re(keep(slice({ inputs: { x: A3 }, backend, attrs: { begin: [i, 0, 0], size: [1, M, K] } })), [M, K]);
        const bi = re(keep(slice({ inputs: { x: B3 }, backend, attrs: { begin: [i, 0, 0], size: [1, K, N] } })), [K, N]);
        parts.push(keep(mm(ai, bi))); // [M, N]
      }
      out = keep(concat({ inputs: parts as unknown as Record<string, TensorInfo>, backend, attrs: { axis: 0 } })); // [X*M, N]
    }
    const result = reshape({ inputs: { x: out }, backend, attrs: { shape: [...outBatch, M, N] } });
    const disposeData = (backend as { disposeData(id: unknown): void }).disposeData.bind(backend);
    for (const t of temps) disposeData(t.dataId);
    return result;
  };
}

/** Installs the rewrite on the wasm backend; returns a function that restores the original kernel. */
export function installFastWasmMatMul(): () => void {
  const config = tf.getKernel("BatchMatMul", "wasm");
  if (!config) throw new Error("Cannot install the wasm matmul prototype: no wasm BatchMatMul kernel (call setBackend('wasm') first)");
  const original = config.kernelFunc as unknown as KernelFunc;
  tf.unregisterKernel("BatchMatMul", "wasm");
  tf.registerKernel({ ...config, kernelFunc: fastPathMatMul(original) as unknown as tf.KernelFunc });
  return () => {
    tf.unregisterKernel("BatchMatMul", "wasm");
    tf.registerKernel(config);
  };
}
