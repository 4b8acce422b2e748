/**
 * The backend's own matmul speed: square n x n x n products (the reference next to the model's
 * achieved GFLOP/s in bench/wsmall.ts) and, on wasm, the matmul forms a transformer step runs,
 * with tfjs-backend-wasm's kernel as shipped and with the fast path of transforms/wasm_matmul.ts.
 *
 * Run: deno run -A bench/matmul.ts [--backends wasm,cpu,webgpu]
 */
import * as tf from "@tensorflow/tfjs-core";
import { type BackendName, setBackend } from "../transforms/backend.ts";
import { matmulFlops } from "./_flops.ts";
import { matmulGflops, timeWork } from "./_measure.ts";
import { markdownTable, ms, relChange, sig, type Table } from "./_table.ts";
import { installFastWasmMatMul, useShippedWasmMatMul } from "./_wasm_matmul.ts";

/** The forms of a wsmall train step (328 = B*T*41 video tokens, D 256, MLP 1024, 8 = B*H heads). */
export const FORMS = [
  { name: "x.W (dense forward)", a: [328, 256], b: [256, 1024], ta: false, tb: false },
  { name: "dC.W^T (dense dX)", a: [328, 1024], b: [256, 1024], ta: false, tb: true },
  { name: "X^T.dC (dense dW)", a: [328, 256], b: [328, 1024], ta: true, tb: false },
  { name: "q.k^T (attention logits)", a: [8, 4, 41, 64], b: [8, 4, 41, 64], ta: false, tb: true },
  { name: "p.v (attention output)", a: [8, 4, 41, 41], b: [8, 4, 41, 64], ta: false, tb: false },
  { name: "p^T.dY (attention dV)", a: [8, 4, 41, 41], b: [8, 4, 41, 64], ta: true, tb: false },
] as const;

const formFlops = (f: (typeof FORMS)[number]) => {
  const batch = f.a.slice(0, -2).reduce((x, y) => x * y, 1);
  const [r, c] = f.a.slice(-2);
  const M = f.ta ? c : r, K = f.ta ? r : c, N = f.tb ? f.b[f.b.length - 2] : f.b[f.b.length - 1];
  return matmulFlops(M, K, N, batch);
};

export async function squareMatmulTable(backends: readonly BackendName[]): Promise<Table> {
  const rows: string[][] = [];
  for (const name of backends) {
    await setBackend(name);
    const reps = name === "wasm" ? { warmup: 1, reps: 3 } : { warmup: 1, reps: 1 };
    const r512 = await matmulGflops(512, reps), r1024 = await matmulGflops(1024, reps);
    rows.push([
      name,
      ms(r512.ms),
      sig(r512.gflops),
      sig(r512.cpuGflops),
      ms(r1024.ms),
      sig(r1024.gflops),
      sig(r1024.cpuGflops),
    ]);
  }
  return {
    title: "Square matMul on each backend",
    header: [
      "backend",
      "512^3 ms",
      "GFLOP/s",
      "GFLOP/s by CPU time",
      "1024^3 ms",
      "GFLOP/s",
      "GFLOP/s by CPU time",
    ],
    rows,
    notes: [
      "Wall-clock median (3 runs on wasm, 1 elsewhere, after a warm-up), results read back; also by process CPU time",
      "(robust to other load for the single-threaded wasm and cpu; for webgpu/llvmpipe it sums its worker threads).",
    ],
  };
}

export async function wasmFormsTable(): Promise<Table> {
  await setBackend("wasm");
  const rows: string[][] = [];
  for (const f of FORMS) {
    const a = tf.randomUniform([...f.a], -1, 1, "float32", 1),
      b = tf.randomUniform([...f.b], -1, 1, "float32", 2);
    const run = () => tf.matMul(a, b, f.ta, f.tb);
    // setBackend("wasm") installs the fast path: measure the shipped kernel with it taken out.
    const restoreShipped = useShippedWasmMatMul();
    const reference = run();
    const before = await timeWork(run, { warmup: 1, reps: 5 });
    restoreShipped();
    const restore = installFastWasmMatMul();
    let after, err;
    try {
      after = await timeWork(run, { warmup: 1, reps: 5 });
      err = tf.tidy(() => tf.max(tf.abs(tf.sub(run(), reference))).dataSync()[0]);
    } finally {
      restore();
    }
    tf.dispose([a, b, reference]);
    const gf = (t: number) => sig(formFlops(f) / (t * 1e6));
    rows.push([
      f.name,
      `${f.a.join("x")} . ${f.b.join("x")}`,
      ms(before.cpuMedianMs),
      gf(before.cpuMedianMs),
      ms(after.cpuMedianMs),
      gf(after.cpuMedianMs),
      relChange(after.cpuMedianMs, before.cpuMedianMs),
      sig(err, 2),
    ]);
  }
  return {
    title: "wasm matMul forms: tfjs-backend-wasm as shipped vs the fast path (transforms/wasm_matmul.ts)",
    header: ["form", "shapes", "shipped ms", "GFLOP/s", "fast path ms", "GFLOP/s", "change", "max |diff|"],
    rows,
    align: ["left", "left", "right", "right", "right", "right", "right", "right"],
    notes: [
      "CPU-time median of 5 after a warm-up (robust to other load on the machine). Inputs uniform in [-1, 1].",
    ],
  };
}

if (import.meta.main) {
  const arg = Deno.args.indexOf("--backends");
  const backends = (arg >= 0 ? Deno.args[arg + 1].split(",") : ["wasm", "cpu", "webgpu"]) as BackendName[];
  console.log(`${markdownTable(await squareMatmulTable(backends))}\n`);
  if (backends.includes("wasm")) console.log(`${markdownTable(await wasmFormsTable())}\n`);
}
