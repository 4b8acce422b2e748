/**
 * Test support for the gradient suites (not a test file): seeded inputs that keep clear of kinks,
 * and a central-difference check of tf.grads against the forward function.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, setBackend } from "../../transforms/backend.ts";
import { seededUniform } from "../../data/seeded_random.ts";

/** A gradient check: f must run `kernel`, and tf.grads of sum(w * f(xs)) must match finite differences. */
export type GradCase = {
  readonly kernel: string;
  readonly name: string;
  readonly inputs: (rng: Rng) => tf.Tensor[];
  readonly f: (...xs: tf.Tensor[]) => tf.Tensor;
  /** Finite-difference step; inputs built by this module keep kinks at least 2.5 eps away. */
  readonly eps?: number;
  readonly tol?: number;
  /** Only where a backend's forward kernel is wrong; the reason goes beside the case. */
  readonly backends?: readonly BackendName[];
};

export type Rng = () => number;

/** A small seeded generator (mulberry32), so every run sees the same inputs. */
export const rng: (seed: number) => Rng = seededUniform;

const size = (shape: readonly number[]) => shape.reduce((n, d) => n * d, 1);

function gaussian(r: Rng): number {
  return Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r());
}

/** Standard normal values. */
export function normal(r: Rng, shape: number[]): tf.Tensor {
  return tf.tensor(Array.from({ length: size(shape) }, () => gaussian(r)), shape, "float32");
}

/** Uniform values in [lo, hi). */
export function uniform(r: Rng, shape: number[], lo: number, hi: number): tf.Tensor {
  return tf.tensor(Array.from({ length: size(shape) }, () => lo + (hi - lo) * r()), shape, "float32");
}

/**
 * Pairwise-distinct values k * 0.1 + 0.025 (k a shuffled range centred on 0): every value is at
 * least 0.025 from any multiple of 0.05, so from 0, integers, half-integers and round clip bounds,
 * and 0.1 from every other value, so max/min/sort have no ties within a finite-difference step.
 */
export function distinct(r: Rng, shape: number[], offset = 0): tf.Tensor {
  const n = size(shape);
  const ks = Array.from({ length: n }, (_, i) => i - Math.floor(n / 2));
  for (let i = n - 1; i > 0; i--) {
    const j = Math.floor(r() * (i + 1));
    [ks[i], ks[j]] = [ks[j], ks[i]];
  }
  return tf.tensor(ks.map((k) => (k + offset) * 0.1 + 0.025), shape, "float32");
}

/** Several distinct tensors drawn from one pool, so no value repeats across them either. */
export function distinctSplit(r: Rng, shapes: number[][]): tf.Tensor[] {
  const pool = distinct(r, [shapes.reduce((n, s) => n + size(s), 0)]);
  const flat = pool.dataSync();
  pool.dispose();
  let at = 0;
  return shapes.map((s) => {
    const t = tf.tensor(flat.slice(at, at + size(s)), s, "float32");
    at += size(s);
    return t;
  });
}

export type GradCheck = {
  /** max over all inputs and elements of |analytic - numeric| / (1 + |numeric|) */
  readonly error: number;
  readonly worst: string;
};

/**
 * Compares tf.grads(loss) with central differences of loss = sum(w * f(xs)), w a fixed random
 * tensor (so that a transposed or misplaced gradient shows). float32 throughout.
 */
export function checkGradient(c: GradCase, seed: number): GradCheck {
  const r = rng(seed);
  const xs = c.inputs(r);
  const eps = c.eps ?? 1e-2;
  try {
    const shape = tf.tidy(() => c.f(...xs).shape);
    const w = normal(r, shape);
    const loss = (...a: tf.Tensor[]) => {
      const y = c.f(...a);
      return tf.sum(tf.mul(y.dtype === "float32" ? y : tf.cast(y, "float32"), w));
    };
    const analytic = tf.tidy(() => tf.grads(loss)(xs).map((g) => g.dataSync().slice()));
    let error = 0, worst = "none";
    xs.forEach((x, i) => {
      const base = x.dataSync().slice();
      for (let j = 0; j < base.length; j++) {
        const at = (delta: number) =>
          tf.tidy(() => {
            const moved = base.slice();
            moved[j] += delta;
            const args = xs.map((t, k) => (k === i ? tf.tensor(moved, x.shape, "float32") : t));
            return loss(...args).dataSync()[0];
          });
        const numeric = (at(eps) - at(-eps)) / (2 * eps);
        const e = Math.abs(analytic[i][j] - numeric) / (1 + Math.abs(numeric));
        if (e > error) {
          [error, worst] = [e, `input ${i} element ${j}: analytic ${analytic[i][j]}, numeric ${numeric}`];
        }
      }
    });
    w.dispose();
    return { error, worst };
  } finally {
    tf.dispose(xs);
  }
}

/** Names of the kernels f runs (tf.profile records each kernel call). */
export async function kernelsRun(c: GradCase, seed: number): Promise<string[]> {
  const xs = c.inputs(rng(seed));
  const info = await tf.profile(() => c.f(...xs));
  tf.dispose([xs, info.result as tf.Tensor]);
  return info.kernels.map((k) => k.name);
}

/** The backends every gradient is checked on. */
export const GRADIENT_BACKENDS: readonly BackendName[] = ["cpu", "wasm"];

/**
 * One Deno test per case and backend: f must really run the kernel, and the gradient must match
 * central differences within the case's tolerance.
 */
export function defineGradientTests(cases: readonly GradCase[]): void {
  for (const backend of GRADIENT_BACKENDS) {
    cases.forEach((c, i) => {
      if (c.backends && !c.backends.includes(backend)) return;
      Deno.test(`${c.kernel} gradient matches finite differences: ${c.name} (${backend})`, async () => {
        await setBackend(backend);
        const ran = await kernelsRun(c, i);
        assert.ok(ran.includes(c.kernel), `the check runs [${ran.join(", ")}], not ${c.kernel}`);
        const { error, worst } = checkGradient(c, i);
        assert.ok(error < (c.tol ?? 5e-3), `relative error ${error.toExponential(2)} at ${worst}`);
      });
    });
  }
}
