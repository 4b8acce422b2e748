/**
 * Independent references: attention, LayerNorm, the MLP, a pre-LN block (self + cross), TokenLearner
 * and the 3D sin-cos embedding agree with Keras 3 / TensorFlow 2.21 (tf_reference.py) on the same
 * weights, which load into Keras unchanged because our layout is Keras' own.
 */
import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../../transforms/backend.ts";
import { foldIn, type Key, normal, PRNGKey } from "../../../transforms/random.ts";
import { treeDispose, treeFlatten, treeMap } from "../../../transforms/tree.ts";
import { chunkCausalMask } from "../../../model/masks.ts";
import * as attention from "../../../model/layers/attention.ts";
import * as layerNorm from "../../../model/layers/layer_norm.ts";
import * as mlp from "../../../model/layers/mlp.ts";
import * as position from "../../../model/layers/position.ts";
import * as tokenLearner from "../../../model/layers/token_learner.ts";
import * as transformer from "../../../model/layers/transformer.ts";

await setBackend("wasm");

const PYTHON = new URL("../../../.venv/bin/python", import.meta.url).pathname;
const SCRIPT = new URL("./tf_reference.py", import.meta.url).pathname;

type Json = { shape: number[]; data: number[] };
const json = (t: tf.Tensor): Json => ({ shape: t.shape, data: Array.from(t.dataSync()) });

/** Params with every leaf jittered (init gives zero biases and unit scales, which hide mistakes). */
function jittered<P>(params: P, key: Key): P {
  let i = 0;
  const out = treeMap(
    params,
    (leaf) => tf.add(leaf as tf.Tensor, normal(foldIn(key, i++), leaf.shape, { std: 0.2 })),
  ) as P;
  treeDispose(params as tf.Tensor);
  return out;
}

const flatParams = (p: unknown) => {
  const { leaves, paths } = treeFlatten(p as tf.Tensor);
  return Object.fromEntries(paths.map((path, i) => [path, json(leaves[i] as tf.Tensor)]));
};

type Case = {
  name: string;
  kind: string;
  params: unknown;
  inputs: Record<string, tf.Tensor>;
  ours: tf.Tensor;
  extra?: object;
};

function cases(): Case[] {
  const k = PRNGKey(77);
  const x = normal(foldIn(k, 1), [2, 6, 12]),
    ctx = normal(foldIn(k, 2), [2, 4, 10]),
    mask = chunkCausalMask(3, 2);
  const att = jittered(attention.init(foldIn(k, 3), { dim: 12, heads: 3, headDim: 4 }), foldIn(k, 4));
  const cross = jittered(
    attention.init(foldIn(k, 5), { dim: 12, heads: 2, headDim: 5, kvDim: 10 }),
    foldIn(k, 6),
  );
  const ln = jittered(layerNorm.init(foldIn(k, 7), { dim: 12 }), foldIn(k, 8));
  const ff = jittered(mlp.init(foldIn(k, 9), { dim: 12, hidden: 20 }), foldIn(k, 10));
  const block = jittered(
    transformer.initBlock(foldIn(k, 11), {
      dim: 12,
      heads: 3,
      headDim: 4,
      mlpHidden: 24,
      cross: true,
      contextDim: 10,
    }),
    foldIn(k, 12),
  );
  const tl = jittered(tokenLearner.init(foldIn(k, 13), { dim: 12, outTokens: 3, hidden: 8 }), foldIn(k, 14));
  const centres = [[0, 4, 4], [4, 20, 12], [12, 100, 220], [7, 0, 31]];
  return [
    {
      name: "attention_self_chunk_causal",
      kind: "attention",
      params: att,
      inputs: { x, mask },
      ours: attention.apply(att, x, { mask }),
      extra: { heads: 3, headDim: 4 },
    },
    {
      name: "attention_cross_kvdim",
      kind: "attention",
      params: cross,
      inputs: { x, context: ctx },
      ours: attention.apply(cross, x, { context: ctx }),
      extra: { heads: 2, headDim: 5 },
    },
    { name: "layer_norm", kind: "layer_norm", params: ln, inputs: { x }, ours: layerNorm.apply(ln, x) },
    { name: "mlp_exact_gelu", kind: "mlp", params: ff, inputs: { x }, ours: mlp.apply(ff, x) },
    {
      name: "pre_ln_cross_block",
      kind: "block",
      params: block,
      inputs: { x, mask, context: ctx },
      ours: transformer.applyBlock(block, x, { mask, context: ctx }),
      extra: { heads: 3, headDim: 4 },
    },
    {
      name: "token_learner_v11",
      kind: "token_learner",
      params: tl,
      inputs: { x },
      ours: tokenLearner.apply(tl, x),
    },
    {
      name: "sincos3d",
      kind: "sincos3d",
      params: {},
      inputs: {},
      ours: position.sincos3d(centres, 24),
      extra: { centres, dim: 24 },
    },
  ];
}

const all = cases();
const reference = (async () => {
  const job = {
    cases: all.map((c) => ({
      name: c.name,
      kind: c.kind,
      params: flatParams(c.params),
      inputs: Object.fromEntries(
        Object.entries(c.inputs).map(([n, t]) => [n, json(t.dtype === "bool" ? tf.cast(t, "float32") : t)]),
      ),
      ...c.extra,
    })),
  };
  const child = new Deno.Command(PYTHON, { args: [SCRIPT], stdin: "piped", stdout: "piped", stderr: "piped" })
    .spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(JSON.stringify(job)));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  if (code !== 0) throw new Error(`tf_reference.py failed: ${new TextDecoder().decode(stderr)}`);
  return JSON.parse(new TextDecoder().decode(stdout)) as Record<string, number[]>;
})();

for (const c of all) {
  Deno.test(`${c.name} agrees with Keras/TensorFlow (1e-5 relative)`, async () => {
    const want = (await reference)[c.name];
    const got = c.ours.dataSync();
    assert.equal(got.length, want.length);
    const worst = want.reduce((m, w, i) => Math.max(m, Math.abs(got[i] - w) / (1 + Math.abs(w))), 0);
    assert.ok(worst <= 1e-5, `${c.name}: worst relative difference ${worst}`);
  });
}
