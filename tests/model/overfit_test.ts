import assert from "node:assert/strict";
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { valueAndGrad } from "../../transforms/grad.ts";
import { foldIn, PRNGKey } from "../../transforms/random.ts";
import { treeDispose, treeMapMany } from "../../transforms/tree.ts";
import { tiny } from "../../model/config.ts";
import { exampleBatch } from "../../model/inputs.ts";
import { init, loss, type MirasolParams } from "../../model/mirasol.ts";

await setBackend("wasm");

const STEPS = 40, LR = 0.5;

Deno.test(`${STEPS} plain SGD steps on one tiny batch drive the total loss (and each term) down`, () => {
  const c = tiny;
  const batch = exampleBatch(PRNGKey(1), c, { batch: 2, textLength: 8 });
  let p: MirasolParams = init(PRNGKey(0), c);
  const evaluate = (q: MirasolParams) =>
    tf.tidy(() =>
      Object.fromEntries(
        Object.entries(loss(q, batch, { config: c, train: false })).map(([k, v]) => [k, v.dataSync()[0]]),
      )
    );
  const before = evaluate(p);
  // Training uses dropout-free tiny with the Combiner-output masking on (train: true, a new key per step).
  const step = valueAndGrad((q: MirasolParams, key: ReturnType<typeof PRNGKey>) =>
    loss(q, batch, { config: c, train: true, key }).total
  );
  for (let i = 0; i < STEPS; i++) {
    const { value, grads } = step(p, foldIn(PRNGKey(2), i));
    const next = treeMapMany(
      [p, grads] as never[],
      ([w, g]) => tf.sub(w as tf.Tensor, tf.mul(g as tf.Tensor, LR)),
    ) as unknown as MirasolParams;
    if (i > 0) treeDispose(p as never);
    treeDispose(grads as never);
    value.dispose();
    p = next;
  }
  const after = evaluate(p);
  assert.ok(after.total < 0.5 * before.total, `total ${before.total} -> ${after.total}`);
  assert.ok(after.text < 0.5 * before.text, `text ${before.text} -> ${after.text}`);
  assert.ok(after.latent < before.latent, `latent ${before.latent} -> ${after.latent}`);
  assert.ok(
    after.reconstruction < before.reconstruction,
    `reconstruction ${before.reconstruction} -> ${after.reconstruction}`,
  );
});
