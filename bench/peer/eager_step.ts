/**
 * One process of bench:peer: the eager wasm train step (and forward) on the `matched` workload.
 * Prints one JSON line {step_ms, fwd_ms, step_cpu_ms, peak_rss_mb}. Run by bench/peer/main.ts.
 */
import * as tf from "@tensorflow/tfjs-core";
import { exampleBatch, forward, init } from "../../model/mod.ts";
import { trainStep } from "../../train/step.ts";
import { setBackend } from "../../transforms/backend.ts";
import { adamw } from "../../transforms/optim/mod.ts";
import { PRNGKey } from "../../transforms/random.ts";
import type { Tree } from "../../transforms/tree.ts";
import { timeWork } from "../_measure.ts";
import { matched, MATCHED_BATCH, MATCHED_TEXT } from "./_matched_config.ts";

const reps = Number(Deno.args[0] ?? 3);
await setBackend("wasm");
const params = init(PRNGKey(0), matched);
const batch = exampleBatch(PRNGKey(1), matched, { batch: MATCHED_BATCH, textLength: MATCHED_TEXT });
const optimizer = adamw({ learningRate: 1e-3, weightDecay: 1e-4 });
const optState = optimizer.init(params as unknown as Tree<tf.Tensor>);
let peakRss = 0;
const sample = () => (peakRss = Math.max(peakRss, Deno.memoryUsage().rss));
const step = () => {
  const r = trainStep(params, optState, batch, PRNGKey(2), { config: matched, optimizer });
  sample();
  return [r.params as unknown as tf.Tensor[], r.optState as unknown as tf.Tensor[]] as tf.TensorContainer;
};
const fwd = () => {
  const out = forward(params, batch, { config: matched, train: false });
  sample();
  return [out.logits, out.u, out.x, out.h, out.reconstruction.video];
};
const s = await timeWork(step, { warmup: 1, reps });
const f = await timeWork(fwd, { warmup: 1, reps });
console.log(
  JSON.stringify({
    step_ms: s.medianMs,
    step_cpu_ms: s.cpuMedianMs,
    fwd_ms: f.medianMs,
    peak_rss_mb: peakRss / 2 ** 20,
  }),
);
