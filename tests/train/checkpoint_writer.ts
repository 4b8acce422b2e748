/**
 * Child process of tests/train/checkpoint_test.ts: saves a big checkpoint into Deno.args[0] so the
 * test can SIGKILL it mid-write. Prints "saving" just before saveCheckpoint starts.
 */
import * as tf from "@tensorflow/tfjs-core";
import { setBackend } from "../../transforms/backend.ts";
import { saveCheckpoint } from "../../train/checkpoint.ts";
import { PRNGKey } from "../../transforms/random.ts";

await setBackend("cpu");
const [dir, floats, step] = [Deno.args[0], Number(Deno.args[1]), Number(Deno.args[2])];
const values = new Float32Array(floats).map((_, i) => i % 1000);
const params = { big: tf.tensor(values, [floats]), small: tf.ones([3]) };
console.log("saving");
await saveCheckpoint(dir, {
  params,
  optState: { count: tf.scalar(step, "int32") },
  step,
  key: PRNGKey(step),
  config: { name: "big" },
}, { overwrite: true });
console.log("saved");
