/** Top kernels of one eager wasm train step on `matched` (or `wsmall`): deno run -A bench/peer/profile_eager.ts [wsmall] */
import { exampleBatch, init } from "../../model/mod.ts";
import { trainStep } from "../../train/step.ts";
import { setBackend } from "../../transforms/backend.ts";
import { adamw } from "../../transforms/optim/mod.ts";
import { PRNGKey } from "../../transforms/random.ts";
import { kernelStats, profileWork } from "../_measure.ts";
import { matched } from "./_matched_config.ts";
await setBackend("wasm");
const cfg = Deno.args[0] === "wsmall" ? (await import("../_wsmall_config.ts")).wsmall : matched;
const params = init(PRNGKey(0), cfg);
const batch = exampleBatch(PRNGKey(1), cfg, { batch: 2, textLength: 32 });
const optimizer = adamw({ learningRate: 1e-3, weightDecay: 1e-4 });
const optState = optimizer.init(params as any);
const step = () => {
  const r = trainStep(params, optState, batch, PRNGKey(2), { config: cfg, optimizer });
  return [r.params as any, r.optState as any];
};
await profileWork(step);
const p = await profileWork(step);
const st = kernelStats(p.kernels);
const total = st.reduce((a, s) => a + s.ms, 0);
console.log("total kernel ms", total.toFixed(0), "kernels", st.reduce((a, s) => a + s.calls, 0));
for (const s of st.slice(0, 14)) {
  console.log(
    s.name.padEnd(22),
    String(s.calls).padStart(6),
    s.ms.toFixed(1).padStart(8),
    (100 * s.ms / total).toFixed(1) + "%",
  );
}
