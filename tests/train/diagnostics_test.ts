import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { collapseDiagnostics, diagnose, effectiveRank } from "../../train/diagnostics.ts";
import { exampleBatch, init, tiny } from "../../model/mod.ts";
import { setBackend } from "../../transforms/backend.ts";
import { normalValues, PRNGKey } from "../../transforms/random.ts";

await setBackend("wasm");

const value = (t: tf.Tensor) => t.dataSync()[0];

Deno.test("effectiveRank is 1 for vectors along one direction and near D for isotropic ones", () => {
  tf.tidy(() => {
    const dir = tf.tensor2d([[1, 2, 3, 4]]);
    const line = tf.matMul(tf.tensor2d(normalValues(PRNGKey(1), 64), [64, 1]), dir); // [64, 4], rank 1
    assert.ok(Math.abs(value(effectiveRank(line as tf.Tensor2D)) - 1) < 1e-3);
    const iso = tf.tensor2d(normalValues(PRNGKey(2), 4000 * 8), [4000, 8]);
    const r = value(effectiveRank(iso));
    assert.ok(r > 7.8 && r <= 8 + 1e-3, `isotropic 8-dim rank ${r}`);
  });
});

Deno.test("a collapsed x (the same for every sample and token) has zero spread and rank ~1, and the latent loss equals its shuffled baseline", () => {
  tf.tidy(() => {
    const [B, T, m, D] = [3, 4, 5, 6];
    const one = tf.tensor(normalValues(PRNGKey(3), D), [1, 1, 1, D]);
    const x = tf.broadcastTo(one, [B, T, m, D]) as tf.Tensor4D;
    const h = tf.tensor(normalValues(PRNGKey(4), B * T * m * D), [B, T, m, D]) as tf.Tensor4D;
    const d = collapseDiagnostics(x, h);
    assert.ok(value(d.x_spread_samples) < 1e-3 && value(d.x_spread_tokens) < 1e-3);
    assert.ok(value(d.x_rank) < 1.01);
    assert.ok(Math.abs(value(d.latent) - value(d.latent_shuffled)) < 1e-6);
    // A sample-specific x: h = x one chunk ahead predicts its own sample far better than another's.
    const x2 = tf.tensor(normalValues(PRNGKey(5), B * T * m * D), [B, T, m, D]) as tf.Tensor4D;
    const ahead = tf.concat([
      tf.slice(x2, [0, 1, 0, 0], [B, T - 1, m, D]),
      tf.slice(x2, [0, 0, 0, 0], [B, 1, m, D]),
    ], 1) as tf.Tensor4D;
    const e = collapseDiagnostics(x2, ahead);
    assert.ok(
      value(e.latent) < 1e-5 && value(e.latent_shuffled) > 0.5,
      `${value(e.latent)} vs ${value(e.latent_shuffled)}`,
    );
    assert.ok(value(e.x_spread_samples) > 0.5 && value(e.x_rank) > 3);
  });
});

Deno.test("diagnose runs the model in inference mode: finite numbers, nothing leaked", () => {
  const params = init(PRNGKey(0), tiny), batch = exampleBatch(PRNGKey(1), tiny, { batch: 2 });
  const before = tf.memory().numTensors;
  const d = diagnose(params, batch, { config: tiny });
  for (const [k, v] of Object.entries(d)) assert.ok(Number.isFinite(value(v)), k);
  tf.dispose(Object.values(d));
  assert.equal(tf.memory().numTensors, before);
});
