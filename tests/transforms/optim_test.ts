import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { treeDispose, treeFlatten, treeLeaves } from "../../transforms/tree.ts";
import {
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  constant,
  decayByDefault,
  type DecayMask,
  globalNorm,
  type GradientTransformation,
  OptimError,
  type OptState,
  type Params,
  scheduleValue,
  sgd,
  warmupCosine,
} from "../../transforms/optim/mod.ts";

await setBackend("wasm");

const PYTHON = new URL("../../.venv/bin/python", import.meta.url).pathname;
const SCRIPT = new URL("./optim_reference.py", import.meta.url).pathname;

/** Leaf shapes by path; the default mask should decay exactly DECAYED. */
const SHAPES: Record<string, number[]> = {
  "blocks/0/attn/q/w": [4, 2, 2],
  "dense/b": [4],
  "dense/w": [3, 4],
  "embed/table": [5, 3],
  "norm/scale": [4],
};
const PATHS = Object.keys(SHAPES).sort();
const DECAYED = ["blocks/0/attn/q/w", "dense/w"];
const STEPS = 10;

/** mulberry32 + Box-Muller: reproducible float32 normals without touching tfjs. */
function normals(seed: number, n: number, scale: number): number[] {
  let a = seed >>> 0;
  const uniform = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
  return Array.from(
    { length: n },
    () => Math.fround(scale * Math.sqrt(-2 * Math.log(1 - uniform())) * Math.cos(2 * Math.PI * uniform())),
  );
}
const size = (s: number[]) => s.reduce((a, b) => a * b, 1);
const flatValues = (seed: number, scale: number) =>
  Object.fromEntries(PATHS.map((p, i) => [p, normals(seed * 31 + i, size(SHAPES[p]), scale)]));

const PARAMS = flatValues(1, 1);
// Alternate small steps (global norm ~0.4, under the clip) and large ones (~7, clipped to 1).
const GRADS = Array.from({ length: STEPS }, (_, t) => flatValues(100 + t, t % 2 ? 1 : 0.05));
const TINY_GRADS = GRADS.map((g) =>
  Object.fromEntries(Object.entries(g).map(([p, v]) => [p, v.map((x) => Math.fround(x * 1e-8))]))
);
const SCHEDULE = { init: 0, peak: 1e-2, warmup: 3, decay: 8, end: 1e-3 };

/** A nested tree from flat path -> values (`dense/w` -> {dense: {w}}; numeric segments -> arrays). */
function tree(values: Record<string, number[]>): Params {
  const root: Record<string, unknown> = {};
  for (const path of PATHS) {
    const segs = path.split("/");
    let node: Record<string, unknown> = root;
    segs.slice(0, -1).forEach((
      s,
      i,
    ) => (node = (node[s] ??= /^\d+$/.test(segs[i + 1]) ? [] : {}) as Record<string, unknown>));
    node[segs.at(-1)!] = tf.tensor(values[path], SHAPES[path], "float32");
  }
  return root as Params;
}
const flat = (t: Params) => {
  const { leaves, paths } = treeFlatten(t);
  return Object.fromEntries(paths.map((p, i) => [p, Array.from(leaves[i].dataSync())]));
};

/** Runs an optimizer over GRADS (or `grads`), returning flat params after each step; frees everything. */
function run(opt: GradientTransformation, grads = GRADS): Record<string, number[]>[] {
  let params = tree(PARAMS);
  let state = opt.init(params);
  const out: Record<string, number[]>[] = [];
  for (const step of grads) {
    const g = tree(step);
    const { updates, state: next } = opt.update(g, state, params);
    const newParams = applyUpdates(params, updates);
    treeDispose([g, updates, state, params]);
    [params, state] = [newParams, next];
    out.push(flat(params));
  }
  treeDispose([params, state]);
  return out;
}

const reference = (async () => {
  const job = {
    params: Object.fromEntries(PATHS.map((p) => [p, { shape: SHAPES[p], data: PARAMS[p] }])),
    grads: GRADS,
    tiny: TINY_GRADS,
    cases: [
      {
        name: "adamw_clip_cosine",
        kind: "keras_adamw",
        schedule: SCHEDULE,
        wd: 0.1,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        clip: 1,
        decay: DECAYED,
      },
      {
        name: "adamw_constant",
        kind: "keras_adamw",
        lr: 3e-3,
        wd: 0.05,
        b1: 0.8,
        b2: 0.99,
        eps: 1e-8,
        decay: DECAYED,
      },
      {
        name: "adamw_tiny_grads",
        kind: "numpy_adamw",
        grads: "tiny",
        lr: 1e-3,
        wd: 0.1,
        b1: 0.9,
        b2: 0.999,
        eps: 1e-8,
        decay: DECAYED,
      },
      { name: "sgd_plain", kind: "keras_sgd", lr: 0.1, momentum: 0, nesterov: false },
      { name: "sgd_momentum", kind: "keras_sgd", lr: 0.1, momentum: 0.9, nesterov: false },
      { name: "sgd_nesterov", kind: "keras_sgd", lr: 0.05, momentum: 0.8, nesterov: true },
    ],
    schedule: { ...SCHEDULE, steps: Array.from({ length: 12 }, (_, i) => i) },
  };
  const child = new Deno.Command(PYTHON, { args: [SCRIPT], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(job)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`optim_reference.py failed: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as {
    cases: Record<string, Record<string, number[]>[]>;
    schedule: number[];
  };
})();

/**
 * Params agree to 1e-6 relative, and so do the distances travelled from the start (1e-4 relative
 * to the largest move, as float32 params ~1 carry only ~1e-7 absolute precision).
 */
function assertClose(got: Record<string, number[]>[], want: Record<string, number[]>[], what: string): void {
  assert.equal(got.length, want.length);
  for (const [t, step] of want.entries()) {
    for (const path of PATHS) {
      const moved = Math.max(...want[t][path].map((w, i) => Math.abs(w - PARAMS[path][i])));
      for (const [i, w] of step[path].entries()) {
        const g = got[t][path][i];
        assert.ok(
          Math.abs(g - w) <= 1e-6 * Math.abs(w) + 1e-4 * moved,
          `${what}: step ${t + 1}, ${path}[${i}]: ${g} vs reference ${w}`,
        );
      }
    }
  }
}

Deno.test("adamw + clipByGlobalNorm + warmupCosine match Keras AdamW(global_clipnorm, CosineDecay) over 10 steps", async () => {
  const ref = (await reference).cases.adamw_clip_cosine;
  const lr = warmupCosine({
    initValue: SCHEDULE.init,
    peakValue: SCHEDULE.peak,
    warmupSteps: SCHEDULE.warmup,
    decaySteps: SCHEDULE.decay,
    endValue: SCHEDULE.end,
  });
  assertClose(run(chain(clipByGlobalNorm(1), adamw({ learningRate: lr, weightDecay: 0.1 }))), ref, "adamw");
});

Deno.test("adamw with a constant rate and other betas matches Keras AdamW", async () => {
  const ref = (await reference).cases.adamw_constant;
  assertClose(run(adamw({ learningRate: 3e-3, weightDecay: 0.05, b1: 0.8, b2: 0.99 })), ref, "adamw");
});

Deno.test("adamw puts eps after the bias correction (gradients of 1e-8, numpy float32 reference)", async () => {
  const ref = (await reference).cases.adamw_tiny_grads;
  assertClose(run(adamw({ learningRate: 1e-3, weightDecay: 0.1 }), TINY_GRADS), ref, "adamw tiny grads");
});

for (
  const [name, opts] of [
    ["sgd_plain", { learningRate: 0.1 }],
    ["sgd_momentum", { learningRate: 0.1, momentum: 0.9 }],
    ["sgd_nesterov", { learningRate: 0.05, momentum: 0.8, nesterov: true }],
  ] as const
) {
  Deno.test(`sgd(${JSON.stringify(opts)}) matches Keras SGD over 10 steps`, async () => {
    assertClose(run(sgd(opts)), (await reference).cases[name], name);
  });
}

Deno.test("warmupCosine equals Keras CosineDecay(warmup) at every step and hits init, peak and end", async () => {
  const ref = (await reference).schedule;
  const s = warmupCosine({ initValue: 0, peakValue: 1e-2, warmupSteps: 3, decaySteps: 8, endValue: 1e-3 });
  for (const [step, want] of ref.entries()) {
    assert.ok(
      Math.abs(scheduleValue(s, step) - want) <= 1e-6 * want + 1e-9,
      `step ${step}: ${scheduleValue(s, step)} vs ${want}`,
    );
  }
  const f = Math.fround;
  assert.equal(scheduleValue(s, 0), 0);
  assert.equal(scheduleValue(s, 3), f(1e-2));
  assert.ok(
    Math.abs(scheduleValue(s, 5) - f(1e-2 - (1e-2 - 1e-3) * (1 - Math.cos(Math.PI * 2 / 5)) / 2)) < 1e-9,
  );
  assert.equal(scheduleValue(s, 8), f(1e-3));
  assert.equal(scheduleValue(s, 1000), f(1e-3));
  assert.equal(scheduleValue(constant(0.25), 12345), 0.25);
  assert.ok(
    Math.abs(scheduleValue(warmupCosine({ peakValue: 1, warmupSteps: 0, decaySteps: 4 }), 2) - 0.5) < 1e-7,
  );
  assert.throws(() => warmupCosine({ peakValue: 1, warmupSteps: 5, decaySteps: 5 }), OptimError);
});

Deno.test("decayByDefault decays weight matrices only, not biases, norms, embeddings or vectors", () => {
  const m = (path: string, shape: number[]) => decayByDefault(path, { shape });
  for (const p of ["video_encoder/blocks/3/attn/q/w", "mlp/fc1/w", "combiner/out/w"]) {
    assert.ok(m(p, [4, 4]), p);
  }
  for (
    const p of [
      "mlp/fc1/b",
      "blocks/0/norm1/scale",
      "ln_f/scale",
      "ln1/bias",
      "text_decoder/embed/w",
      "video_encoder/pos_emb",
      "x/layernorm/w",
      "a/gamma",
    ]
  ) {
    assert.ok(!m(p, [4, 4]), p);
  }
  assert.ok(!m("gate/w", [4]), "rank-1 leaves are not decayed");
  assert.ok(m("lnx/w", [4, 4]), "'lnx' is not a layer-norm name");
});

Deno.test("adamw decays exactly the leaves its mask selects (zero gradients: p <- p * (1 - lr * wd))", () => {
  const cases: [DecayMask | undefined, string[]][] = [[undefined, DECAYED], [
    (path) => path.startsWith("embed"),
    ["embed/table"],
  ]];
  for (const [mask, decayed] of cases) {
    const opt = adamw({ learningRate: 0.5, weightDecay: 0.2, mask });
    const zeros = Object.fromEntries(PATHS.map((p) => [p, new Array(size(SHAPES[p])).fill(0)]));
    const [after] = run(opt, [zeros]);
    for (const p of PATHS) {
      const want = PARAMS[p].map((x) => (decayed.includes(p) ? Math.fround(x * (1 - 0.5 * 0.2)) : x));
      assert.ok(
        after[p].every((x, i) => Math.abs(x - want[i]) <= 1e-7 * Math.abs(want[i])),
        `${p} ${decayed.includes(p) ? "should" : "should not"} decay`,
      );
    }
  }
});

const arbTree = fc.array(
  fc.array(fc.float({ min: -100, max: 100, noNaN: true, noDefaultInfinity: true }), {
    minLength: 1,
    maxLength: 6,
  }),
  { minLength: 1, maxLength: 4 },
);

Deno.test("clipByGlobalNorm: the norm after is at most maxNorm, the direction is kept, small updates pass unchanged", () => {
  const clip = clipByGlobalNorm;
  fc.assert(
    fc.property(arbTree, fc.float({ min: Math.fround(0.01), max: 50, noNaN: true }), (leaves, maxNorm) => {
      tf.tidy(() => {
        const g = leaves.map((l) => tf.tensor1d(l));
        const { updates } = clip(maxNorm).update(g, {});
        const before = globalNorm(g).dataSync()[0];
        const after = globalNorm(updates).dataSync()[0];
        assert.ok(after <= maxNorm * (1 + 1e-6), `norm ${after} > ${maxNorm}`);
        const out = treeLeaves(updates).map((t) => Array.from(t.dataSync()));
        if (before <= maxNorm) {
          assert.deepEqual(
            out,
            leaves.map((l) => l.map(Math.fround)),
            "within bounds: unchanged",
          );
        } else {
          assert.ok(Math.abs(after - maxNorm) <= 1e-5 * maxNorm, `clipped norm ${after} is not ${maxNorm}`);
          const scale = maxNorm / before; // one positive factor for every element of every leaf
          out.forEach((l, i) =>
            l.forEach((x, j) =>
              assert.ok(Math.abs(x - leaves[i][j] * scale) <= 1e-5 * (Math.abs(leaves[i][j] * scale) + 1e-3))
            )
          );
        }
      });
    }),
    { numRuns: 150, seed: 11 },
  );
});

Deno.test("200 updates of clip + adamw + schedule leak no tensor, and the state is a tree of tensors", () => {
  const opt = chain(
    clipByGlobalNorm(1),
    adamw({ learningRate: warmupCosine({ peakValue: 1e-3, warmupSteps: 10, decaySteps: 200 }) }),
  );
  let params = tree(PARAMS);
  let state: OptState = opt.init(params);
  const paths = treeFlatten(state).paths;
  assert.deepEqual([paths[0], paths[3], paths.at(-1)], ["1/0/count", "1/0/mu/dense/w", "1/2/count"]);
  assert.equal(paths.length, 1 + 2 * PATHS.length + 1);
  assert.ok(treeLeaves(state).every((l) => l instanceof tf.Tensor));
  const grads = tree(GRADS[1]);
  let after1 = 0;
  for (let i = 1; i <= 200; i++) {
    const { updates, state: next } = opt.update(grads, state, params);
    const newParams = applyUpdates(params, updates);
    treeDispose([updates, state, params]);
    [params, state] = [newParams, next];
    if (i === 1) after1 = tf.memory().numTensors;
  }
  assert.equal(tf.memory().numTensors, after1);
  const count = (state as OptState[])[1] as OptState[];
  assert.equal((count[2] as { count: tf.Tensor }).count.dataSync()[0], 200);
  treeDispose([params, state, grads]);
});

Deno.test("update() with a state from another optimizer, or grads of another tree, fails naming what is wrong", () => {
  const params = tree(PARAMS);
  const state = sgd({ learningRate: 0.1 }).init(params);
  assert.throws(
    () => adamw({ learningRate: 0.1 }).update(params, state, params),
    /Cannot use chain: state has 1 parts, expected 3/,
  );
  const opt = adamw({ learningRate: 0.1 });
  const s = opt.init(params);
  assert.throws(() => opt.update({ dense: { w: tf.ones([3, 4]) } } as Params, s, params), /dense/);
  assert.throws(
    () => adamw({ learningRate: 0.1, b1: 1 }),
    /Cannot use scaleByAdam: b1 must be in \[0, 1\), got 1/,
  );
  treeDispose([params, s, state]);
});
