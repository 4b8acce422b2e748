/**
 * Measuring one piece of work on the active tfjs backend: wall time (warm-up runs, then the median
 * of n), peak tensor memory (tf.profile), and per-kernel time (tf.profile's kernel records).
 *
 * Every measured function returns the tensors it made; they are read back (so asynchronous backends
 * such as webgpu have finished the work) and disposed here, so runs do not pile up memory.
 */
import * as tf from "@tensorflow/tfjs-core";
import process from "node:process";
import type { KernelRecord } from "./_flops.ts";

/** Work to measure: returns the tensors it made (or a promise of them). */
export type Work = () => tf.TensorContainer | Promise<tf.TensorContainer>;

const leaves = (x: tf.TensorContainer): tf.Tensor[] => {
  const out: tf.Tensor[] = [];
  const visit = (v: unknown): void => {
    if (v instanceof tf.Tensor) out.push(v);
    else if (Array.isArray(v)) v.forEach(visit);
    else if (v && typeof v === "object") Object.values(v).forEach(visit);
  };
  visit(x);
  return out;
};

/**
 * Waits until the backend has computed every tensor of `x` (reading one element of each leaf; a
 * queue-ordered backend such as webgpu finishes earlier work first), then disposes them.
 */
export async function settle(x: tf.TensorContainer): Promise<void> {
  const ts = leaves(x);
  if (ts.length > 0) {
    const probes = tf.tidy(() =>
      ts.map((t) => tf.reshape(tf.slice(tf.reshape(t, [-1]), [0], [Math.min(1, t.size)]), [-1]))
    );
    const joined = tf.tidy(() => tf.concat(probes.map((p) => tf.cast(p, "float32"))));
    await joined.data();
    tf.dispose([...probes, joined]);
  }
  tf.dispose(ts);
}

/**
 * Wall time, and the process's CPU time (user + system) over the same runs. On a shared machine
 * the CPU time of a single-threaded backend (wasm, cpu) is what the wall time would be on an idle
 * core; for webgpu on llvmpipe it sums the rasterizer's worker threads.
 */
export type Timing = {
  readonly medianMs: number;
  readonly minMs: number;
  readonly samplesMs: readonly number[];
  readonly cpuMedianMs: number;
};

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

/** `warmup` untimed runs, then `reps` timed ones (each until its results are computed). */
export async function timeWork(work: Work, opts: { warmup: number; reps: number }): Promise<Timing> {
  for (let i = 0; i < opts.warmup; i++) await settle(await work());
  const samples: number[] = [], cpu: number[] = [];
  for (let i = 0; i < opts.reps; i++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    await settle(await work());
    samples.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
  }
  return {
    medianMs: median(samples),
    minMs: Math.min(...samples),
    samplesMs: samples,
    cpuMedianMs: median(cpu),
  };
}

export type KernelStat = { readonly name: string; readonly calls: number; readonly ms: number };

export type Profile = {
  /** Peak bytes held by live tensors while the work ran, above what was held before it. */
  readonly peakBytes: number;
  /** Bytes still held afterwards by the results (before `settle` disposes them). */
  readonly resultBytes: number;
  readonly kernels: readonly (KernelRecord & { readonly ms: number })[];
};

/**
 * One run under tf.profile. The engine records the bytes held after every kernel, so the peak is
 * exact at kernel granularity, unlike tf.memory() polled from outside (which cannot run while a
 * synchronous backend computes). Kernel times are wall times per kernel (wasm, cpu) or GPU timer
 * queries where the backend has them; the per-output NaN check is turned off while profiling.
 */
export async function profileWork(work: Work): Promise<Profile> {
  const flag = "CHECK_COMPUTATION_FOR_ERRORS";
  const before = tf.env().getBool(flag);
  tf.env().set(flag, false);
  try {
    const start = tf.memory().numBytes;
    const info = await tf.profile(work);
    const resultBytes = leaves(info.result).reduce((a, t) => a + t.size * 4, 0);
    await settle(info.result);
    const kernels = info.kernels.map((k) => ({
      name: k.name,
      inputShapes: k.inputShapes,
      outputShapes: k.outputShapes,
      ms: typeof k.kernelTimeMs === "number" ? k.kernelTimeMs : NaN,
    }));
    return { peakBytes: Math.max(0, info.peakBytes - start), resultBytes, kernels };
  } finally {
    tf.env().set(flag, before);
  }
}

/** Kernel time summed by kernel name, largest first. */
export function kernelStats(kernels: Profile["kernels"]): KernelStat[] {
  const by = new Map<string, { calls: number; ms: number }>();
  for (const k of kernels) {
    const s = by.get(k.name) ?? { calls: 0, ms: 0 };
    s.calls += 1;
    s.ms += Number.isFinite(k.ms) ? k.ms : 0;
    by.set(k.name, s);
  }
  return [...by].map(([name, s]) => ({ name, ...s })).sort((a, b) => b.ms - a.ms);
}

/** Achieved GFLOP/s of a square n x n x n matMul on the active backend (median of `reps`; by wall and CPU time). */
export async function matmulGflops(
  n: number,
  opts: { warmup: number; reps: number },
): Promise<{ ms: number; gflops: number; cpuMs: number; cpuGflops: number }> {
  const a = tf.randomUniform([n, n], -1, 1, "float32", 1), b = tf.randomUniform([n, n], -1, 1, "float32", 2);
  try {
    const t = await timeWork(() => tf.matMul(a, b), opts);
    const flops = 2 * n ** 3;
    return {
      ms: t.medianMs,
      gflops: flops / (t.medianMs * 1e6),
      cpuMs: t.cpuMedianMs,
      cpuGflops: flops / (t.cpuMedianMs * 1e6),
    };
  } finally {
    tf.dispose([a, b]);
  }
}
