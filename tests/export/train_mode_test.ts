/**
 * The train-mode export draws in TensorFlow exactly what TypeScript draws: for one key, the
 * Combiner keep mask and the dropout masks are bit-identical, fold_in/split give the host's keys, and
 * `train_loss` is `loss(..., {train: true, key})`, with the latent target's StopGradient lowered (its
 * gradients equal TypeScript's). One export, one Python process for every call.
 */
import assert from "node:assert/strict";
import fc from "fast-check";
import * as tf from "@tensorflow/tfjs-core";
import { Effect } from "effect";
import { exportSavedModel, type SignatureSpec } from "../../export/savedmodel/export.ts";
import { KEY_INPUTS, mirasolSignatures } from "../../export/savedmodel/mirasol.ts";
import { sampleKeep } from "../../model/combiner_masking.ts";
import * as dropout from "../../model/layers/dropout.ts";
import {
  combinerTokens,
  exampleBatch,
  init,
  loss,
  type MirasolBatch,
  type MirasolParams,
  tiny,
  validateConfig,
} from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { diagnose } from "../../train/diagnostics.ts";
import {
  foldIn,
  type HostKey,
  keyFromWords,
  keyWords,
  PRNGKey,
  split,
  tensorKey,
} from "../../transforms/random.ts";
import { treeFlatten } from "../../transforms/tree.ts";

await setBackend("wasm");

const config = validateConfig({ ...tiny, name: "tiny-train", dropout: 0.1, latentStopGradient: true });
const B = 2, L = 8, T = config.video.chunks, m = combinerTokens(config);
const DROP_SHAPE = [B, 24, 48];
const params = init(PRNGKey(0), config);
const batch = exampleBatch(PRNGKey(1), config, { batch: B, textLength: L });

/** Signature `masks`(key): what the model's two samplers draw from a key, as TensorFlow computes them. */
const masks: SignatureSpec<MirasolParams> = {
  inputs: { key: { shape: [2], dtype: "int32" } },
  words: ["key"],
  fn: (_p, i) => {
    const key = tensorKey(i.key);
    return {
      keep: tf.cast(sampleKeep(key, { batch: B, chunks: T, tokens: m }, config.combinerMaskRatio), "int32"),
      dropout: dropout.apply(tf.ones(DROP_SHAPE), { rate: config.dropout, train: true, key: foldIn(key, 1) }),
    };
  },
};
const hostMasks = (key: HostKey) =>
  tf.tidy(() => ({
    keep: Array.from(
      sampleKeep(key, { batch: B, chunks: T, tokens: m }, config.combinerMaskRatio).dataSync(),
    ),
    dropout: Array.from(
      dropout.apply(tf.ones(DROP_SHAPE), { rate: config.dropout, train: true, key: foldIn(key, 1) })
        .dataSync(),
    ),
  }));

// 24 keys drawn by fast-check (fixed seed), over the whole uint32 range of both words.
const word = fc.integer({ min: 0, max: 0xffffffff });
const keys = fc.sample(fc.tuple(word, word), { numRuns: 24, seed: 14 }).map((w) => keyFromWords(w));
const data = fc.sample(fc.integer({ min: 0, max: 2 ** 31 - 1 }), { numRuns: 24, seed: 15 });

const dir = await Deno.makeTempDir({ prefix: "train_mode_" });
const signatures = { ...mirasolSignatures(config, { batch: B, textLength: L }), masks };
await Effect.runPromise(exportSavedModel({ params, signatures, config }, `${dir}/sm`));

type Input = { dtype: string; shape: number[]; values: number[] };
const f32 = (t: tf.Tensor): Input => ({
  dtype: t.dtype === "int32" ? "int32" : "float32",
  shape: [...t.shape],
  values: Array.from(t.dataSync()),
});
const uint32 = (k: HostKey): Input => ({ dtype: "uint32", shape: [2], values: [k[0], k[1]] });
const batchInputs = (b: MirasolBatch): Record<string, Input> => ({
  video: f32(b.video),
  audio: f32(b.audio!),
  text: f32(b.text),
  text_mask: f32(b.textMask),
  loss_mask: f32(b.lossMask),
});

const [k0, k1] = [keys[0], keys[1]];
const calls = [
  ...keys.map((k, i) => ({ id: `masks${i}`, signature: "masks", inputs: { key: uint32(k) } })),
  ...keys.map((k, i) => ({
    id: `fold${i}`,
    signature: "fold_in",
    inputs: { key: uint32(k), data: { dtype: "int32", shape: [], values: [data[i]] } },
  })),
  ...keys.map((k, i) => ({ id: `split${i}`, signature: "split", inputs: { key: uint32(k) } })),
  {
    id: "loss0",
    signature: "train_loss",
    inputs: { ...batchInputs(batch), key: uint32(k0) },
    grads_of: "total",
  },
  { id: "loss0again", signature: "train_loss", inputs: { ...batchInputs(batch), key: uint32(k0) } },
  { id: "loss0xla", signature: "train_loss", inputs: { ...batchInputs(batch), key: uint32(k0) }, jit: true },
  { id: "loss1", signature: "train_loss", inputs: { ...batchInputs(batch), key: uint32(k1) } },
  { id: "diagnostics", signature: "diagnostics", inputs: batchInputs(batch) },
  ...["signature", "attribute"].flatMap((via) => [
    {
      id: `int32key-${via}`,
      via,
      signature: "train_loss",
      inputs: { ...batchInputs(batch), key: { dtype: "int32", shape: [2], values: [1, 2] } },
    },
    {
      id: `shortkey-${via}`,
      via,
      signature: "train_loss",
      inputs: { ...batchInputs(batch), key: { dtype: "uint32", shape: [3], values: [1, 2, 3] } },
    },
  ]),
];
const py = new Deno.Command(".venv/bin/python", {
  args: ["tests/export/signature_runner.py"],
  stdin: "piped",
  stdout: "piped",
  stderr: "piped",
}).spawn();
const writer = py.stdin.getWriter();
await writer.write(new TextEncoder().encode(JSON.stringify({ export: `${dir}/sm`, calls })));
await writer.close();
const ran = await py.output();
if (!ran.success) {
  throw new Error(`signature_runner.py failed:\n${new TextDecoder().decode(ran.stderr).slice(-3000)}`);
}
type Result = { outputs: Record<string, number[]>; grads: Record<string, number[]>; error: string | null };
const report: Record<string, Result> = JSON.parse(
  new TextDecoder().decode(ran.stdout).trim().split("\n").at(-1)!,
);
await Deno.remove(dir, { recursive: true });

const asUint32 = (x: ArrayLike<number>) => Array.from(new Uint32Array(Int32Array.from(x).buffer));

Deno.test("the train-mode export takes the key as uint32 [2] and refuses another dtype or shape, naming `key`", () => {
  assert.deepEqual(KEY_INPUTS, ["key"]);
  // m.train_loss binds each input by name; m.signatures["train_loss"] (like any TensorFlow SavedModel's
  // signatures) checks dtypes by position, and the graph's EnsureShape names the key's shape.
  for (const id of ["int32key-attribute", "shortkey-attribute", "shortkey-signature"]) {
    assert.ok(report[id].error !== null, `${id} was accepted`);
    assert.match(report[id].error!, /\bkey\b.*(uint32|\[2\])|Shape of tensor key/, report[id].error!);
  }
  assert.match(
    report["int32key-signature"].error ?? "accepted",
    /expected to be a uint32 tensor but is a int32 tensor/,
  );
});

Deno.test("for 24 random keys TensorFlow's Combiner keep mask and dropout mask equal TypeScript's exactly", () => {
  keys.forEach((k, i) => {
    const r = report[`masks${i}`];
    assert.equal(r.error, null);
    const want = hostMasks(k);
    assert.deepEqual(r.outputs.keep, want.keep, `keep mask of key ${k}`);
    assert.deepEqual(r.outputs.dropout.map(Math.fround), want.dropout, `dropout mask of key ${k}`);
  });
});

Deno.test("fold_in and split in the graph give the host's foldIn and split keys", () => {
  keys.forEach((k, i) => {
    assert.deepEqual(report[`fold${i}`].outputs.key, [...foldIn(k, data[i])], `foldIn(${k}, ${data[i]})`);
    assert.deepEqual(report[`split${i}`].outputs.keys, split(k, 2).flatMap((s) => [...s]), `split(${k})`);
  });
  assert.deepEqual(asUint32(keyWords(k0)), [...k0]);
});

Deno.test("train_loss in TensorFlow equals loss(train: true, key) (1e-5 relative, XLA too); the same key repeats, another differs", () => {
  const tsLoss = (k: HostKey) =>
    tf.tidy(() => {
      const l = loss(params, batch, { config, train: true, key: k });
      return {
        latent: l.latent.dataSync()[0],
        reconstruction: l.reconstruction.dataSync()[0],
        text: l.text.dataSync()[0],
        total: l.total.dataSync()[0],
      };
    });
  for (const [id, k] of [["loss0", k0], ["loss0xla", k0], ["loss1", k1]] as const) {
    const want = tsLoss(k);
    for (const [name, v] of Object.entries(want)) {
      const got = report[id].outputs[name][0];
      assert.ok(Math.abs(got - v) <= 1e-5 * Math.abs(v), `${id}/${name}: TensorFlow ${got}, TypeScript ${v}`);
    }
  }
  assert.deepEqual(report.loss0again.outputs, report.loss0.outputs);
  assert.notEqual(report.loss1.outputs.total[0], report.loss0.outputs.total[0]);
});

Deno.test("the latent target's StopGradient is in the graph: TensorFlow's gradients of train_loss equal TypeScript's", () => {
  const gradsOf = (stopGradient: boolean) => {
    const c = { ...config, latentStopGradient: stopGradient };
    const f = valueAndGrad((p: MirasolParams) => loss(p, batch, { config: c, train: true, key: k0 }).total);
    const { value, grads } = f(params);
    value.dispose();
    const flat = treeFlatten(grads);
    const out = Object.fromEntries(flat.paths.map((p, i) => [p, Array.from(flat.leaves[i].dataSync())]));
    tf.dispose(flat.leaves);
    return out;
  };
  const want = gradsOf(true), without = gradsOf(false), got = report.loss0.grads;
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort());
  // Relative to the leaf's largest gradient, or 1% of the largest anywhere for leaves whose gradient
  // is ~0 by symmetry (a key bias does not change a softmax).
  const maxAbs = (xs: number[]) => xs.reduce((mx, x) => Math.max(mx, Math.abs(x)), 0);
  const floor = 1e-2 * Math.max(...Object.values(want).map(maxAbs));
  const relErr = (a: number[], b: number[]) =>
    a.reduce((mx, x, j) => Math.max(mx, Math.abs(x - b[j])), 0) / Math.max(maxAbs(b), floor);
  for (const path of Object.keys(want)) {
    assert.ok(relErr(got[path], want[path]) <= 1e-3, `${path}: ${relErr(got[path], want[path])}`);
  }
  // Not vacuous: without the stop-gradient the Combiner's gradients are different.
  const combiner = Object.keys(want).filter((p) => p.startsWith("combiner/"));
  assert.ok(
    combiner.some((p) => relErr(without[p], want[p]) > 1e-2),
    "stopGradient changes no Combiner gradient",
  );
});

Deno.test("the exported collapse diagnostics equal TypeScript's diagnose (1e-4 relative)", () => {
  const want = tf.tidy(() =>
    Object.fromEntries(
      Object.entries(diagnose(params, batch, { config })).map(([k, v]) => [k, v.dataSync()[0]]),
    )
  );
  for (const [k, v] of Object.entries(want)) {
    const got = report.diagnostics.outputs[k][0];
    assert.ok(
      Math.abs(got - v) <= 1e-4 * Math.max(1, Math.abs(v)),
      `${k}: TensorFlow ${got}, TypeScript ${v}`,
    );
  }
});
